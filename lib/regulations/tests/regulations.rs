//! The regulation files load, each kind of broken file is refused with a
//! precise error, and the facts the issue names are in the data.

use chrono::{TimeZone, Utc};
use egov_calendar::Calendar;
use egov_regulations::{
    Actor, Channel, ElementKind, LoadError, Registry, ResultKind, Stage, System, check_calendar,
    load_dir, parse, plan,
};

const SEED_003: &str = include_str!("../../../regulations/003.toml");

const CODES: [&str; 15] = [
    "000", "001", "002", "003", "004-01", "004-02", "004-03", "004-04", "004-05", "004-06",
    "004-07", "004-08", "004-09", "004-10", "004-11",
];

fn registry() -> Registry {
    Registry::embedded().unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn all_fifteen_acts_load_and_validate() {
    let registry = registry();
    let codes: Vec<&str> = registry.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, CODES);
}

#[test]
fn the_directory_on_disk_is_what_is_embedded() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../regulations");
    let on_disk = load_dir(dir).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(on_disk.len(), 15);
    for regulation in registry().iter() {
        let loaded = on_disk.get(&regulation.code).expect("same codes");
        assert_eq!(loaded.steps.len(), regulation.steps.len());
    }
}

/// Loads seed 003's file after replacing `from` (which must occur) by `to`.
fn broken(from: &str, to: &str) -> LoadError {
    assert!(
        SEED_003.contains(from),
        "the test's anchor `{from}` is not in 003.toml"
    );
    let text = SEED_003.replacen(from, to, 1);
    match parse("003.toml", &text) {
        Ok(_) => panic!("a file with `{to}` instead of `{from}` loaded"),
        Err(error) => error,
    }
}

fn assert_error(error: &LoadError, field: &str, problem: &str) {
    assert_eq!(error.file, "003.toml", "{error}");
    assert_eq!(error.field, field, "{error}");
    assert!(error.problem.contains(problem), "{error}");
}

#[test]
fn an_unknown_actor_is_refused() {
    let error = broken(
        "number = 2\nactor = \"head\"",
        "number = 2\nactor = \"chief\"",
    );
    assert_error(&error, "steps[1].actor", "unknown variant `chief`");
}

#[test]
fn an_unknown_system_is_refused() {
    let error = broken(
        "number = 3\nsystem = \"intake\"",
        "number = 3\nsystem = \"registry_office\"",
    );
    assert_error(
        &error,
        "diagrams[0].elements[2].system",
        "unknown variant `registry_office`",
    );
}

#[test]
fn an_unknown_system_among_the_addressees_is_refused() {
    let error = broken(
        "to = [\"gateway\", \"individuals\"]",
        "to = [\"gateway\", \"civil_registry\"]",
    );
    assert_error(
        &error,
        "diagrams[2].elements[5].to",
        "unknown variant `civil_registry`",
    );
}

#[test]
fn a_duration_that_does_not_parse_is_refused() {
    let error = broken(
        "duration = \"20 min\"\nstages",
        "duration = \"20 minuets\"\nstages",
    );
    assert_error(
        &error,
        "steps[1].duration",
        "duration `20 minuets` does not parse",
    );
}

#[test]
fn a_channel_limit_that_does_not_parse_is_refused() {
    let error = broken(
        "duration = \"1 working day\"",
        "duration = \"one working day\"",
    );
    assert_error(
        &error,
        "channels[1].limits[3].duration",
        "duration `one working day` does not parse",
    );
}

#[test]
fn a_step_sequence_with_a_gap_is_refused() {
    let error = broken("[[steps]]\nnumber = 3", "[[steps]]\nnumber = 4");
    assert_error(&error, "steps[2].number", "expected 3, found 4");
}

#[test]
fn a_channel_without_a_deadline_is_refused() {
    let error = broken(
        "channel = \"provider_office\"\nintake = true\nissues_result = true\ndeadline = \"30 calendar days\"\n",
        "channel = \"provider_office\"\nintake = true\nissues_result = true\n",
    );
    assert_error(&error, "channels[0].deadline", "missing field `deadline`");
}

#[test]
fn a_deadline_that_does_not_parse_is_refused() {
    let error = broken("deadline = \"30 calendar days\"", "deadline = \"a month\"");
    assert_error(
        &error,
        "channels[0].deadline",
        "duration `a month` does not parse",
    );
}

#[test]
fn not_stated_without_a_silent_note_is_refused() {
    let error = broken(
        "deadline = \"30 calendar days\"",
        "deadline = \"not stated\"",
    );
    assert_error(
        &error,
        "channels[0].deadline",
        "needs a [[notes]] entry of kind \"silent\"",
    );
}

#[test]
fn a_condition_pointing_nowhere_is_refused() {
    let error = broken("on_no = \"process 4\"", "on_no = \"process 40\"");
    assert_error(
        &error,
        "diagrams[1].elements[5].on_no",
        "`process 40` is not an element",
    );
}

#[test]
fn a_document_item_for_a_foreign_channel_is_refused() {
    let error = broken("provider_office = \"§4\", ", "courier = \"§4\", ");
    assert_error(
        &error,
        "documents[0].items.courier",
        "unknown channel `courier`",
    );
}

#[test]
fn a_source_without_a_seed_line_is_refused() {
    let error = broken(
        "source = \"seed 003 §5, line 33; §6, line 48; §8, line 70; App. 2, lines 508-511\"",
        "source = \"point 5\"",
    );
    assert_error(&error, "steps[1].source", "does not cite a seed and line");
}

#[test]
fn a_note_about_a_missing_field_is_refused() {
    let error = broken(
        "about = \"channels[0].intake_day_counts\"",
        "about = \"channels[7].intake_day_counts\"",
    );
    assert_error(&error, "notes[4].about", "names no field of this file");
}

#[test]
fn a_misspelt_field_is_refused() {
    let error = broken(
        "actor_kk = \"көрсетілетін қызметті берушінің басшысы\"",
        "actr_kk = \"x\"",
    );
    assert_eq!(error.field, "steps[1].actr_kk", "{error}");
    assert!(error.problem.contains("unknown field `actr_kk`"), "{error}");
}

#[test]
fn the_file_name_must_match_the_code() {
    let error = parse("003-01.toml", SEED_003).unwrap_err();
    assert_eq!(error.field, "code");
    assert!(
        error.problem.contains("does not match the file name"),
        "{error}"
    );
}

#[test]
fn seed_003_has_five_staff_steps_and_a_thirty_calendar_day_deadline() {
    let registry = registry();
    let regulation = registry.get("003").unwrap();
    let durations: Vec<&str> = regulation
        .steps
        .iter()
        .map(|s| s.duration.as_str())
        .collect();
    assert_eq!(
        durations,
        [
            "30 min",
            "20 min",
            "28 calendar days",
            "1 calendar day",
            "30 min"
        ]
    );
    let actors: Vec<Actor> = regulation.steps.iter().map(|s| s.actor).collect();
    assert_eq!(
        actors,
        [
            Actor::OfficeClerk,
            Actor::Head,
            Actor::Specialist,
            Actor::Head,
            Actor::OfficeClerk
        ]
    );
    let stages: Vec<Stage> = regulation
        .steps
        .iter()
        .flat_map(|s| s.stages.clone())
        .collect();
    assert_eq!(
        stages,
        [
            Stage::Register,
            Stage::Assign,
            Stage::Examine,
            Stage::Sign,
            Stage::Issue
        ]
    );
    for channel in Channel::ALL {
        let rule = regulation.channel(channel).expect("all three channels");
        assert_eq!(rule.deadline, "30 calendar days");
        assert_eq!(rule.intake_day_counts, channel != Channel::StateCorporation);
    }
    assert_eq!(regulation.results[0].kind, ResultKind::Resolution);
}

#[test]
fn seed_002_has_six_grounds_for_refusal_and_its_three_forms() {
    let registry = registry();
    let regulation = registry.get("002").unwrap();
    let grounds: Vec<&str> = regulation
        .refusal_grounds
        .iter()
        .map(|g| g.code.as_str())
        .collect();
    assert_eq!(
        grounds,
        [
            "full_state_support",
            "income_exceeds_upkeep_costs",
            "parents_able_to_raise_child",
            "unreliable_documents",
            "noncompliance_with_resolution_383",
            "court_deprived_special_right"
        ]
    );
    let forms: Vec<&str> = regulation.forms.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(forms, ["application", "refusal_receipt", "decision"]);
    assert_eq!(regulation.results[0].form.as_deref(), Some("decision"));
    let via_gateway: Vec<&str> = regulation
        .documents
        .iter()
        .filter(|d| d.via_gateway)
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(
        via_gateway,
        [
            "identity_document",
            "birth_certificate_copy",
            "social_benefit_records",
            "guardianship_certificate"
        ]
    );
    assert_eq!(
        regulation.channel(Channel::Portal).unwrap().deadline,
        "1 working day"
    );
}

/// The gateway's routing table cites these elements (DESIGN.md,
/// gateway/routes.toml): diagram 1 process 3 (look-ups in ЖТ МДБ and БНАЖ)
/// and process 6 (the State Corporation sends to the provider) of seed 001
/// and of 004 services 1-4 and 6; diagram 2 process 5 (the portal sends to
/// the provider) of seeds 001 and 003 and of 004 services 1-10. Each must
/// exist — a missing diagram or element fails — and address the systems
/// the routes connect.
#[test]
fn the_routed_diagram_elements_exist() {
    let registry = registry();
    let element = |code: &str, diagram: u32, name: &str| {
        let regulation = registry
            .get(code)
            .unwrap_or_else(|| panic!("regulation {code} is missing"));
        let found = regulation
            .diagram(diagram)
            .unwrap_or_else(|| panic!("{code} has no diagram {diagram}"))
            .element(name)
            .unwrap_or_else(|| panic!("{code} diagram {diagram} has no {name}"));
        found.clone()
    };
    for code in ["001", "004-01", "004-02", "004-03", "004-04", "004-06"] {
        let lookups = element(code, 1, "process 3");
        assert!(lookups.to.contains(&System::Individuals), "{code}");
        assert!(lookups.to.contains(&System::Notary), "{code}");
        let to_provider = element(code, 1, "process 6");
        assert_eq!(to_provider.system, System::Intake, "{code}");
        assert!(to_provider.to.contains(&System::Workstation), "{code}");
    }
    let portal_codes = [
        "001", "003", "004-01", "004-02", "004-03", "004-04", "004-05", "004-06", "004-07",
        "004-08", "004-09", "004-10",
    ];
    for code in portal_codes {
        let submit = element(code, 2, "process 5");
        assert_eq!(submit.system, System::Portal, "{code}");
        assert_eq!(submit.to, [System::Gateway, System::Workstation], "{code}");
    }
    // Diagram 2 (the portal's) is in every regulation with a portal
    // channel but 002, with all three of its conditions, except seed 000,
    // whose appendix keeps only the legend: named, so a missing diagram or
    // a lost condition fails.
    let with_diagram_2: Vec<(&str, usize)> = registry
        .iter()
        .filter_map(|regulation| {
            let portal = regulation.diagram(2)?;
            let conditions = portal
                .elements
                .iter()
                .filter(|e| e.kind == ElementKind::Condition)
                .count();
            Some((regulation.code.as_str(), conditions))
        })
        .collect();
    let mut expected = vec![("000", 0)];
    expected.extend(portal_codes.iter().map(|code| (*code, 3)));
    assert_eq!(with_diagram_2, expected);
}

fn almaty(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<Utc> {
    // Asia/Almaty is UTC+5 since 1 March 2024.
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap() - chrono::Duration::hours(5)
}

#[test]
fn the_plan_of_seed_003_runs_the_steps_in_order_on_the_calendar() {
    let registry = registry();
    let calendar = Calendar::embedded();
    let regulation = registry.get("003").unwrap();
    let intake = almaty(2026, 11, 23, 10, 0);
    let plan = plan(regulation, Channel::Portal, intake, &calendar).unwrap();
    assert_eq!(plan.steps.len(), 5);
    assert_eq!(plan.steps[0].due, almaty(2026, 11, 23, 10, 30));
    assert_eq!(plan.steps[1].due, almaty(2026, 11, 23, 10, 50));
    for pair in plan.steps.windows(2) {
        assert!(pair[0].due <= pair[1].starts && pair[1].starts < pair[1].due);
    }
    // 30 calendar days counting 23 November: the end of 22 December's
    // working day.
    let result_due = plan.result_due.expect("30 calendar days");
    assert_eq!(result_due, almaty(2026, 12, 22, 18, 30), "{result_due}");
    // Step 3's 28 calendar days end on Sunday 20 December, which moves them
    // to Monday 21 December; step 4 then takes 22 December and step 5 the
    // morning of the 23rd: the regulation's own steps overrun its deadline.
    assert_eq!(plan.steps[2].due, almaty(2026, 12, 21, 18, 30));
    assert_eq!(plan.steps[4].due, almaty(2026, 12, 23, 9, 30));
    assert!(plan.steps_overrun_deadline());
}

#[test]
fn plans_say_when_the_seed_gives_no_deadline_or_an_impossible_one() {
    let registry = registry();
    let calendar = Calendar::embedded();
    let intake = almaty(2026, 11, 23, 10, 0);
    let no_deadline = plan(
        registry.get("004-01").unwrap(),
        Channel::Portal,
        intake,
        &calendar,
    )
    .unwrap();
    assert_eq!(no_deadline.result_due, None);
    assert!(no_deadline.steps_due.is_some());
    let seed_001 = plan(
        registry.get("001").unwrap(),
        Channel::StateCorporation,
        intake,
        &calendar,
    )
    .unwrap();
    assert!(seed_001.steps_overrun_deadline());
    let missing = plan(
        registry.get("000").unwrap(),
        Channel::StateCorporation,
        intake,
        &calendar,
    );
    assert!(missing.is_err());
}

#[test]
fn a_calendar_month_is_a_limit_not_a_deadline() {
    let error = broken(
        "deadline = \"30 calendar days\"",
        "deadline = \"1 calendar month\"",
    );
    assert_error(&error, "channels[0].deadline", "does not parse");
}

#[test]
fn two_limits_of_a_channel_with_one_code_are_refused() {
    let error = broken(
        "code = \"unclaimed_resend\"",
        "code = \"unclaimed_storage\"",
    );
    assert_error(&error, "channels[1].limits[3].code", "not a unique");
}

#[test]
fn a_hand_over_rule_on_a_channel_that_issues_nothing_is_refused() {
    let error = broken(
        "channel = \"state_corporation\"\nintake = true\nissues_result = true",
        "channel = \"state_corporation\"\nintake = true\nissues_result = false",
    );
    assert_error(&error, "channels[1].issue", "issues no result");
}

#[test]
fn a_complaint_term_that_does_not_parse_is_refused() {
    let text = format!(
        "{SEED_003}\n[[complaints]]\nto = \"provider\"\nto_kk = \"x\"\nto_en = \"x\"\nterm = \"5 days\"\ncounted_from = \"x\"\nsource = \"seed 003 §1, line 1\"\n"
    );
    let error = parse("003.toml", &text).expect_err("a bad complaint term loaded");
    assert_error(&error, "complaints[0].term", "does not parse");
}

/// Issue 11, point 8: the data the seeds have and the files lacked.
#[test]
fn seed_002_has_its_complaint_terms() {
    let registry = registry();
    let complaints: Vec<(&str, &str)> = registry
        .get("002")
        .unwrap()
        .complaints
        .iter()
        .map(|c| (c.to.as_str(), c.term.as_str()))
        .collect();
    assert_eq!(
        complaints,
        [
            ("provider", "5 working days"),
            ("quality_authority", "15 working days")
        ]
    );
}

#[test]
fn unclaimed_results_are_kept_one_calendar_month() {
    let registry = registry();
    for code in ["002", "003"] {
        let regulation = registry.get(code).unwrap();
        let storage = regulation
            .limit(Channel::StateCorporation, "unclaimed_storage")
            .unwrap_or_else(|| panic!("{code}: no unclaimed_storage"));
        assert_eq!(
            egov_regulations::parse_period(&storage.duration),
            Ok(egov_regulations::Period::CalendarMonths(1)),
            "{code}"
        );
        let resend = regulation
            .limit(Channel::StateCorporation, "unclaimed_resend")
            .unwrap_or_else(|| panic!("{code}: no unclaimed_resend"));
        assert_eq!(resend.duration, "1 working day", "{code}");
    }
}

#[test]
fn the_state_corporation_hands_results_over_on_identity_or_a_notarised_power_of_attorney() {
    let registry = registry();
    for code in [
        "002", "003", "004-01", "004-02", "004-03", "004-04", "004-06",
    ] {
        let rule = registry
            .get(code)
            .unwrap()
            .channel(Channel::StateCorporation)
            .and_then(|channel| channel.issue.as_ref())
            .unwrap_or_else(|| panic!("{code}: no hand-over rule"));
        assert!(rule.to.contains("notarised power of attorney"), "{code}");
        if code != "002" {
            assert_eq!(
                rule.against.as_deref(),
                Some("the receipt of acceptance of documents"),
                "{code}"
            );
        }
    }
}

#[test]
fn seed_003s_accumulation_sector_does_its_own_steps() {
    let registry = registry();
    let regulation = registry.get("003").unwrap();
    let diagram = regulation.diagram(1).unwrap();
    let actor = |id: &str| diagram.element(id).and_then(|element| element.actor);
    assert_eq!(actor("step 1"), Some(Actor::StateCorporationOperator));
    assert_eq!(
        actor("step 3"),
        Some(Actor::StateCorporationAccumulationSector)
    );
    assert_eq!(
        actor("step 4"),
        Some(Actor::StateCorporationAccumulationSector)
    );
    assert_eq!(actor("step 5"), Some(Actor::StateCorporationCourier));
    assert!(
        regulation
            .notes
            .iter()
            .any(|note| note.about.as_deref() == Some("channels[2].deadline")
                && note.text.contains("жүгінген күні")),
        "App. 2's \"on the day of application\" is recorded"
    );
}

#[test]
fn seed_004_provider_citations_and_service_11_notes_match_the_seed() {
    let registry = registry();
    for (code, line) in [
        ("004-03", "line 702"),
        ("004-06", "line 1544"),
        ("004-08", "line 2057"),
    ] {
        let source = &registry.get(code).unwrap().provider.source;
        assert!(source.ends_with(line), "{code}: {source}");
    }
    let service_11 = registry.get("004-11").unwrap();
    assert!(service_11.diagrams.is_empty());
    for note in &service_11.notes {
        assert!(!note.text.contains("the diagrams"), "{}", note.text);
    }
}

/// What a service checks at start-up (`egov_regulations::check_calendar`):
/// the calendar has the current year and every deadline of the channels it
/// takes applications through ends within the years it has. Late in the
/// last year the calendar has, a 30-day deadline runs into a year it lacks:
/// the error names that year and the regulation.
#[test]
fn the_start_up_check_names_the_year_the_calendar_lacks() {
    let registry = registry();
    let calendar = Calendar::embedded();
    let last = calendar.years().max().expect("calendar data");
    let intake = |rule: &egov_regulations::ChannelRule| rule.intake;
    assert_eq!(
        check_calendar(&registry, &calendar, almaty(last, 6, 1, 10, 0), intake),
        Ok(())
    );
    let next_year = check_calendar(&registry, &calendar, almaty(last + 1, 3, 2, 10, 0), intake)
        .expect_err("a year without data");
    assert!(
        next_year.contains(&format!("no data for {}", last + 1)),
        "{next_year}"
    );
    let late = check_calendar(&registry, &calendar, almaty(last, 12, 21, 10, 0), intake)
        .expect_err("a deadline past the last year");
    assert!(
        late.contains(&format!("no data for {}", last + 1)) && late.contains("regulation "),
        "{late}"
    );
    // Only the channels the service takes are planned: one that takes none
    // needs no more than the current year.
    assert_eq!(
        check_calendar(&registry, &calendar, almaty(last, 12, 21, 10, 0), |_| false),
        Ok(())
    );
}
