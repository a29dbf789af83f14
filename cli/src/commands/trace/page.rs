//! The page: one self-contained HTML file (no scripts or styles fetched
//! from anywhere) with the diagram as SVG swim lanes, the staff steps
//! against their budgets, and the conversation's messages.
//!
//! A small inline script checks the drawing once the browser has laid it
//! out (every label inside its box, every box inside its lane) and writes
//! the verdict on `<body data-layout="…">`, so a headless browser can say
//! whether the page renders as meant (the scenario test reads it).

use super::path::Path;
use chrono::{DateTime, Utc};
use egov_regulations::{ElementKind, System};
use std::fmt::Write as _;

const LABEL_WIDTH: f64 = 190.0;
const COLUMN: f64 = 104.0;
const LANE: f64 = 96.0;
const BOX_W: f64 = 92.0;
const BOX_H: f64 = 46.0;

pub fn render(path: &Path) -> String {
    let mut html = String::new();
    let title = format!(
        "{} — {} — diagram {}",
        path.regulation, path.regulation_name, path.diagram
    );
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head>\n\
         <body data-layout=\"pending\" data-outcome=\"{}\">\n<h1>{}</h1>\n\
         <p class=\"meta\">Conversation <code>{}</code> · diagram {}: {} <span class=\"src\">({})</span><br>\
         Outcome: <b>{}</b> (branch {}) · registered {} · result expected {} · result {}</p>\n",
        esc(&title),
        esc(&path.outcome),
        esc(&title),
        esc(&path.conversation),
        path.diagram,
        esc(&path.diagram_name),
        esc(&path.diagram_source),
        esc(&path.outcome),
        path.branch,
        when(path.registered_at),
        when(path.result_expected_at),
        when(path.result_at),
    );
    html.push_str("<h2>The path through the diagram</h2>\n");
    html.push_str(&lanes_svg(path));
    html.push_str(LEGEND);
    html.push_str(&steps_table(path));
    html.push_str(&hops_table(path));
    html.push_str("<script>");
    html.push_str(LAYOUT_CHECK);
    html.push_str("</script>\n</body></html>\n");
    html
}

/// The swim lanes: one row per system, the elements left to right in the
/// regulation's order, an arrow down or up to each system an element sends
/// to.
fn lanes_svg(path: &Path) -> String {
    let width = LABEL_WIDTH + COLUMN * path.elements.len().max(1) as f64 + 10.0;
    let height = LANE * path.lanes.len().max(1) as f64 + 2.0;
    let lane_of = |system: System| path.lanes.iter().position(|s| *s == system).unwrap_or(0);
    // Room on the right for the last element's arrow out of its lane.
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg id=\"lanes\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"swim lanes\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n"
    );
    for (i, system) in path.lanes.iter().enumerate() {
        let y = LANE * i as f64;
        let _ = writeln!(
            svg,
            "<g class=\"lane\" data-system=\"{code}\">\
             <rect class=\"lane-box\" x=\"0\" y=\"{y}\" width=\"{width}\" height=\"{LANE}\"/>\
             <text class=\"lane-label\" x=\"10\" y=\"{ty}\">{name}</text>\
             <text class=\"lane-code\" x=\"10\" y=\"{ty2}\">{code}</text></g>",
            code = system.code(),
            ty = y + LANE / 2.0 - 4.0,
            ty2 = y + LANE / 2.0 + 14.0,
            name = esc(lane_name(*system)),
        );
    }
    for (i, mark) in path.elements.iter().enumerate() {
        let lane = lane_of(mark.system);
        let x = LABEL_WIDTH + COLUMN * i as f64 + (COLUMN - BOX_W) / 2.0;
        let y = LANE * lane as f64 + (LANE - BOX_H) / 2.0;
        let cx = x + BOX_W / 2.0;
        for target in &mark.to {
            // A system with no lane of its own (the gateway): an arrow out
            // to the right, named.
            let Some(to) = path.lanes.iter().position(|s| s == target) else {
                let _ = writeln!(
                    svg,
                    "<line class=\"send {}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" marker-end=\"url(#arrow)\"><title>to {}</title></line>",
                    mark.state.code(),
                    x + BOX_W,
                    y + BOX_H / 2.0,
                    x + BOX_W + (COLUMN - BOX_W) / 2.0 + 4.0,
                    y + BOX_H / 2.0,
                    target.code()
                );
                continue;
            };
            if to == lane {
                continue;
            }
            let (y1, y2) = if to > lane {
                (y + BOX_H, LANE * to as f64 + (LANE - BOX_H) / 2.0)
            } else {
                (y, LANE * to as f64 + (LANE + BOX_H) / 2.0)
            };
            let _ = writeln!(
                svg,
                "<line class=\"send {}\" x1=\"{cx}\" y1=\"{y1}\" x2=\"{cx}\" y2=\"{y2}\" marker-end=\"url(#arrow)\"/>",
                mark.state.code()
            );
        }
        let shape = match mark.kind {
            ElementKind::Condition => format!(
                "<polygon class=\"box\" points=\"{},{} {},{} {},{} {},{} {},{} {},{}\"/>",
                x,
                y + BOX_H / 2.0,
                x + 12.0,
                y,
                x + BOX_W - 12.0,
                y,
                x + BOX_W,
                y + BOX_H / 2.0,
                x + BOX_W - 12.0,
                y + BOX_H,
                x + 12.0,
                y + BOX_H
            ),
            _ => format!(
                "<rect class=\"box\" x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"5\"/>"
            ),
        };
        let at = mark
            .at
            .map(|t| t.format("%H:%M:%S").to_string())
            .unwrap_or_default();
        let _ = writeln!(
            svg,
            "<g class=\"element {state}\" data-element=\"{id}\" data-state=\"{state}\" data-lane=\"{lane}\">\
             <title>{id} ({system}): {text} — {source}</title>{shape}\
             <text class=\"label\" x=\"{cx}\" y=\"{ly}\" text-anchor=\"middle\">{short}</text>\
             <text class=\"time\" x=\"{cx}\" y=\"{ty}\" text-anchor=\"middle\">{at}</text></g>",
            state = mark.state.code(),
            id = esc(&mark.id),
            system = mark.system.code(),
            text = esc(&mark.text),
            source = esc(&mark.source),
            ly = y + 20.0,
            ty = y + 36.0,
            short = esc(&short_id(&mark.id)),
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn steps_table(path: &Path) -> String {
    let mut html = String::from(
        "<h2>Staff steps against the regulation's budget</h2>\n<table id=\"steps\"><thead><tr>\
         <th>step</th><th>actor</th><th>action</th><th>budget</th><th>started</th>\
         <th>done</th><th>took</th><th>budget ran out</th><th></th><th>share of budget</th></tr></thead><tbody>\n",
    );
    if path.steps.is_empty() {
        html.push_str("<tr><td colspan=\"10\">The regulation lists no staff steps.</td></tr>\n");
    }
    for step in &path.steps {
        let verdict = match step.within() {
            Some(true) => "<td class=\"ok\">within</td>",
            Some(false) => "<td class=\"over\">over</td>",
            None => "<td class=\"unknown\">—</td>",
        };
        let bar = match (step.took_seconds(), step.budget_seconds()) {
            (Some(took), Some(budget)) if budget > 0 => {
                let share = took as f64 / budget as f64;
                let width = (share.min(2.0) * 100.0).max(1.0);
                format!(
                    "<svg class=\"bar\" width=\"202\" height=\"12\"><rect x=\"0\" y=\"2\" width=\"100\" height=\"8\" class=\"budget\"/>\
                     <rect x=\"0\" y=\"4\" width=\"{width:.1}\" height=\"4\" class=\"{}\"/></svg> {:.1} %",
                    if share <= 1.0 { "spent" } else { "spent over" },
                    share * 100.0
                )
            }
            _ => String::new(),
        };
        let _ = writeln!(
            html,
            "<tr data-step=\"{}\"><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{verdict}<td class=\"share\">{bar}</td></tr>",
            step.number,
            step.number,
            esc(&step.actor),
            esc(&step.source),
            esc(&step.action),
            esc(&step.budget),
            when(step.started),
            when(step.done),
            step.took_seconds().map(took).unwrap_or_default(),
            when(step.due),
        );
    }
    html.push_str("</tbody></table>\n");
    html
}

fn hops_table(path: &Path) -> String {
    let mut html = String::from(
        "<h2>Messages through the gateway</h2>\n<table id=\"hops\"><thead><tr><th>logged</th>\
         <th>from</th><th>to</th><th>service</th><th>kind</th><th>status</th></tr></thead><tbody>\n",
    );
    for hop in &path.hops {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            when(Some(hop.at)),
            esc(&hop.from),
            esc(&hop.to),
            esc(&hop.service),
            esc(&hop.kind),
            esc(&hop.status)
        );
    }
    html.push_str("</tbody></table>\n");
    html
}

/// "process 5" → "process 5"; kept short enough for its box.
fn short_id(id: &str) -> String {
    id.replace("condition", "cond.")
}

fn lane_name(system: System) -> &'static str {
    match system {
        System::Portal => "ЭҮП — the portal",
        System::Gateway => "ЭҮШ — the gateway",
        System::Workstation => "ЭҮАШ АЖО — provider",
        System::Intake => "МК ЫАЖ — State Corp.",
        System::Individuals => "ЖТ МДБ — individuals",
        System::Notary => "БНАЖ — notaries",
    }
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "—".to_owned())
}

fn took(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// HTML (and SVG) text and attribute escaping.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222}\
h1{font-size:20px}h2{font-size:16px;margin-top:28px}.meta{color:#444;line-height:1.6}.src{color:#777}\
.lane-box{fill:#fafafa;stroke:#bbb}.lane-label{font-size:13px;font-weight:600}.lane-code{font-size:11px;fill:#777}\
.element .box{stroke:#333;stroke-width:1.2}.element.passed .box{fill:#cdebd3}\
.element.pending .box{fill:#fff;stroke-dasharray:4 3}.element.off .box{fill:#eee;stroke:#aaa}\
.element .label{font-size:11px}.element .time{font-size:10px;fill:#555}\
line.send{stroke:#555;stroke-width:1.2}line.send.off{stroke:#bbb;stroke-dasharray:3 3}\
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}\
td.share{white-space:nowrap}td.ok{color:#1b6e2c}td.over{color:#a00;font-weight:600}.bar .budget{fill:#e4e4e4}.bar .spent{fill:#3c8d4f}\
.bar .spent.over{fill:#c33}.legend span{display:inline-block;margin-right:14px;font-size:12px}\
.legend i{display:inline-block;width:14px;height:10px;border:1px solid #333;margin-right:4px}";

const LEGEND: &str = "<p class=\"legend\"><span><i style=\"background:#cdebd3\"></i>passed</span>\
<span><i style=\"background:#fff;border-style:dashed\"></i>not reached yet</span>\
<span><i style=\"background:#eee;border-color:#aaa\"></i>not on this application's path</span>\
<span>times: when the gateway logged the element's message (UTC)</span></p>\n";

/// Checks the laid-out drawing: each label and time inside its element's
/// box, each box inside its lane; writes the verdict on the body.
const LAYOUT_CHECK: &str = r#"
(function () {
  var problems = [];
  var lanes = document.querySelectorAll('#lanes .lane-box');
  document.querySelectorAll('#lanes g.element').forEach(function (g) {
    var box = g.querySelector('.box').getBBox();
    g.querySelectorAll('text').forEach(function (t) {
      var b = t.getBBox();
      if (b.width > 0 && (b.x < box.x - 0.5 || b.x + b.width > box.x + box.width + 0.5 ||
          b.y < box.y - 0.5 || b.y + b.height > box.y + box.height + 0.5)) {
        problems.push(g.dataset.element + ': text "' + t.textContent + '" outside its box');
      }
    });
    var lane = lanes[Number(g.dataset.lane)].getBBox();
    if (box.y < lane.y || box.y + box.height > lane.y + lane.height) {
      problems.push(g.dataset.element + ': outside its lane');
    }
  });
  document.querySelectorAll('#lanes .lane-label').forEach(function (t) {
    if (t.getBBox().width > 185) problems.push('lane label "' + t.textContent + '" too wide');
  });
  document.body.dataset.layout = problems.length ? problems.join('; ') : 'ok';
  document.body.dataset.elements = String(document.querySelectorAll('#lanes g.element').length);
})();
"#;
