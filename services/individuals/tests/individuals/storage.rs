use crate::helpers::{case, registry, seed};
use egov_individuals::model::{CareArrangement, CareKind, FamilyLink, LinkOrigin, LinkStatus};
use egov_individuals::storage;
use egov_population::people::{Generator, PopulationConfig};
use egov_trust::iin::Iin;

#[tokio::test]
async fn every_person_reads_back_exactly_as_generated() {
    let registry = registry().await;
    let config = PopulationConfig::new(11, 600);
    seed(&registry.pool, config.clone()).await;
    for batch in Generator::new(config).unwrap() {
        for person in &batch.rows.persons {
            let details = storage::person_details(&registry.pool, &person.iin)
                .await
                .unwrap()
                .expect("stored");
            assert_eq!(&details.person, person);
        }
    }
}

/// The look-up's one statement gives, for every person, exactly the links,
/// arrangements and candidacy generated for them, each list in key order
/// (parent then child; carer, child, kind), as the separate reads did.
#[tokio::test]
async fn every_link_arrangement_and_candidacy_reads_back_from_either_end() {
    let registry = registry().await;
    let config = PopulationConfig::new(5, 3_000);
    seed(&registry.pool, config.clone()).await;
    let (mut persons, mut links, mut care, mut candidacies) = (vec![], vec![], vec![], vec![]);
    for batch in Generator::new(config).unwrap() {
        persons.extend(batch.rows.persons.iter().map(|p| p.iin));
        links.extend(batch.rows.family_links);
        care.extend(batch.rows.care_arrangements);
        candidacies.extend(batch.rows.adoption_candidates);
    }
    links.sort_by_key(|l| (l.parent, l.child));
    care.sort_by_key(|c| (c.carer, c.child, c.kind.as_str()));
    let mut seen = (0, 0);
    for iin in persons {
        let details = storage::person_details(&registry.pool, &iin)
            .await
            .unwrap()
            .expect("stored");
        let of = |pick: &dyn Fn(&&FamilyLink) -> bool| {
            links.iter().filter(pick).cloned().collect::<Vec<_>>()
        };
        assert_eq!(details.parents, of(&|l| l.child == iin));
        assert_eq!(details.children, of(&|l| l.parent == iin));
        let arrangements = |pick: &dyn Fn(&&CareArrangement) -> bool| {
            care.iter().filter(pick).cloned().collect::<Vec<_>>()
        };
        assert_eq!(details.carers, arrangements(&|c| c.child == iin));
        assert_eq!(details.wards, arrangements(&|c| c.carer == iin));
        assert_eq!(
            details.adoption_candidacy.as_ref(),
            candidacies.iter().find(|c| c.iin == iin)
        );
        seen.0 += usize::from(details.parents.len() + details.children.len() > 1);
        seen.1 += usize::from(!details.carers.is_empty() || !details.wards.is_empty());
    }
    assert!(
        seen.0 > 0 && seen.1 > 0,
        "the population has links and care"
    );
}

#[tokio::test]
async fn a_ward_and_a_guardian_see_the_same_arrangement_from_either_end() {
    let registry = registry().await;
    seed(&registry.pool, PopulationConfig::new(3, 4_000)).await;
    let (ward, guardian) = case(&registry.pool, "ward_of_guardian").await;
    let ward = Iin::parse(&ward).unwrap();
    let guardian = Iin::parse(&guardian.expect("a guardian")).unwrap();

    let child = storage::person_details(&registry.pool, &ward)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(child.carers.len(), 1);
    assert_eq!(child.carers[0].carer, guardian);
    assert_eq!(child.carers[0].kind, CareKind::Guardianship);
    assert!(!child.parents.is_empty());
    assert!(child.children.is_empty() && child.wards.is_empty());

    let carer = storage::person_details(&registry.pool, &guardian)
        .await
        .unwrap()
        .unwrap();
    assert!(carer.wards.iter().any(|w| w.child == ward));
    assert!(carer.carers.is_empty());
}

#[tokio::test]
async fn deprivation_and_adoption_are_on_the_links() {
    let registry = registry().await;
    seed(&registry.pool, PopulationConfig::new(3, 4_000)).await;

    let (child, _) = case(&registry.pool, "parents_deprived").await;
    let child = storage::person_details(&registry.pool, &Iin::parse(&child).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        child
            .parents
            .iter()
            .all(|l| l.status == LinkStatus::Deprived && l.status_since.is_some())
    );
    let parent = child.parents[0].parent;
    let parent = storage::person_details(&registry.pool, &parent)
        .await
        .unwrap()
        .unwrap();
    assert!(
        parent
            .children
            .iter()
            .any(|l| l.child == child.person.iin && l.status == LinkStatus::Deprived)
    );

    let (adopted, adoptive_mother) = case(&registry.pool, "adopted_child").await;
    let adopted = storage::person_details(&registry.pool, &Iin::parse(&adopted).unwrap())
        .await
        .unwrap()
        .unwrap();
    let adoptive: Vec<_> = adopted
        .parents
        .iter()
        .filter(|l| l.origin == LinkOrigin::Adoption)
        .collect();
    assert_eq!(adoptive.len(), 2);
    assert!(
        adoptive
            .iter()
            .any(|l| Some(l.parent.to_string()) == adoptive_mother)
    );
    let mother = storage::person_details(&registry.pool, &adoptive[0].parent)
        .await
        .unwrap()
        .unwrap();
    assert!(mother.adoption_candidacy.is_some());
}

#[tokio::test]
async fn an_unknown_iin_reads_as_nothing() {
    let registry = registry().await;
    let unknown = Iin::parse("900101300017").unwrap();
    assert!(
        storage::person_details(&registry.pool, &unknown)
            .await
            .unwrap()
            .is_none()
    );
}
