#!/usr/bin/env bash
# Offline checks of the operators' compose (deploy/): what can be checked
# without a Docker engine or any image. Run from anywhere:
#
#   deploy/check.sh            # a missing tool skips its checks, said why
#   deploy/check.sh --strict   # a skipped check fails too
#
# Exits non-zero on any problem. It checks:
#   - docker-compose.yml parses (PyYAML, merge keys resolved); every service
#     has a healthcheck; every depends_on names a service (with a valid
#     condition; service_healthy only on a service with a healthcheck,
#     service_completed_successfully only on a one-shot job) and there is no
#     cycle; every ${VARIABLE} it uses is set in deploy/.env; no password is
#     written in it (each is a ${VARIABLE}); .env's credentials are URL-safe;
#     every system of the mesh sets EGOV__METRICS__LISTEN to 0.0.0.0:<port>
#     and exports traces to the compose's Jaeger on 4318, and serves its
#     gRPC port with mutual TLS (EGOV__GRPC__TLS=mutual); bind-mounted files
#     exist; no host port is published twice;
#   - `docker compose config -q` (or docker-compose's), where one is
#     installed: Compose's own schema and interpolation;
#   - prometheus/prometheus.yml: `promtool check config`, and its `egov`
#     job scrapes exactly the systems' metrics ports, labelled by system;
#   - grafana/: the provisioning files parse, the dashboard is JSON
#     (`python3 -m json.tool`), its panels' ids are unique and their data
#     source is a provisioned one; every egov_* name its queries use is a
#     metric the code registers (the table below ties each name to the
#     string that registers it in the source, so a rename fails here), with
#     the labels it uses; and every query parses as PromQL
#     (`promtool check rules` over the queries, Grafana's variables
#     replaced).
#
# Tools: python3 with PyYAML (pip install PyYAML), promtool (Debian:
# apt-get install prometheus; or PROMTOOL=/path/to/promtool), and
# optionally docker compose or docker-compose (Debian: docker-compose).
set -uo pipefail

strict=0
[ "${1:-}" = "--strict" ] && strict=1

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
skipped=0
ok() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; failures=$((failures + 1)); }
skip() { printf 'skip  %s\n' "$*"; skipped=$((skipped + 1)); }

compose="$here/docker-compose.yml"
prom_config="$here/prometheus/prometheus.yml"
dashboard="$here/grafana/dashboards/egov-mesh.json"

# --- the dashboard is JSON
if command -v python3 >/dev/null; then
    if python3 -m json.tool "$dashboard" >/dev/null; then
        ok "grafana/dashboards/egov-mesh.json is JSON (python3 -m json.tool)"
    else
        fail "grafana/dashboards/egov-mesh.json is not JSON"
    fi
else
    skip "python3 is not installed: no check of the compose file or the dashboard"
fi

# --- the structural checks (python3; the YAML ones need PyYAML)
if command -v python3 >/dev/null; then
    python3 - "$here" "$root" "$work/dashboard-rules.yml" >"$work/python.out" <<'PY'
import json
import os
import re
import sys

deploy, root, rules_out = sys.argv[1:4]
failures = 0


def ok(msg):
    print(f"ok    {msg}")


def fail(msg):
    global failures
    failures += 1
    print(f"FAIL  {msg}")


def skip(msg):
    print(f"skip  {msg}")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# The metrics of the mesh, as the code registers them: full name (without
# the _total a counter gets, or a histogram's _bucket/_sum/_count), kind,
# labels, the file and the string that registers it there.
METRICS = [
    ("egov_serving", "gauge", [], "lib/runtime/src/service.rs", '"serving"'),
    ("egov_gateway_messages_accepted", "counter", ["sender", "receiver", "service"], "gateway/src/metrics.rs", '"messages_accepted"'),
    ("egov_gateway_messages_refused", "counter", ["code"], "gateway/src/metrics.rs", '"messages_refused"'),
    ("egov_gateway_messages_delivered", "counter", [], "gateway/src/metrics.rs", '"messages_delivered"'),
    ("egov_gateway_messages_retried", "counter", [], "gateway/src/metrics.rs", '"messages_retried"'),
    ("egov_gateway_messages_dead_lettered", "counter", [], "gateway/src/metrics.rs", '"messages_dead_lettered"'),
    ("egov_gateway_messages_expired", "counter", [], "gateway/src/metrics.rs", '"messages_expired"'),
    ("egov_gateway_verify_seconds", "histogram", [], "gateway/src/metrics.rs", '"verify_seconds"'),
    ("egov_gateway_log_write_seconds", "histogram", [], "gateway/src/metrics.rs", '"log_write_seconds"'),
    ("egov_gateway_log_batch_size", "histogram", [], "gateway/src/metrics.rs", '"log_batch_size"'),
    ("egov_gateway_queue_depth", "gauge", ["queue"], "gateway/src/metrics.rs", '"queue_depth"'),
    ("egov_inbox_handled", "counter", ["service", "outcome"], "lib/bus/src/metrics.rs", '"inbox_handled"'),
    ("egov_inbox_failed", "counter", ["service", "error"], "lib/bus/src/metrics.rs", '"inbox_failed"'),
    ("egov_inbox_unreadable", "counter", [], "lib/bus/src/metrics.rs", '"inbox_unreadable"'),
    ("egov_inbox_handler_seconds", "histogram", ["service"], "lib/bus/src/metrics.rs", '"inbox_handler_seconds"'),
    ("egov_registry_lookups", "counter", ["answer", "fault_mode"], "lib/registry/src/metrics.rs", '"lookups"'),
    ("egov_registry_fault_mode", "gauge", ["mode"], "lib/registry/src/metrics.rs", '"fault_mode"'),
    ("egov_workstation_applications", "gauge", ["regulation", "channel", "state"], "services/workstation/src/startup.rs", '"workstation_applications"'),
    ("egov_workstation_overdue_tasks", "gauge", ["regulation", "role"], "services/workstation/src/startup.rs", '"workstation_overdue_tasks"'),
    ("egov_portal_applications", "gauge", ["regulation", "stage"], "services/portal/src/startup.rs", '"portal_applications"'),
    ("egov_intake_requests", "gauge", ["regulation", "stage"], "services/intake/src/startup.rs", '"intake_requests"'),
]
# The prefixes the names above assume, where the code sets them.
PREFIXES = [
    ("lib/runtime/src/metrics.rs", 'pub const PREFIX: &str = "egov";'),
    ("gateway/src/metrics.rs", 'sub_registry_with_prefix("gateway")'),
    ("lib/registry/src/metrics.rs", 'sub_registry_with_prefix("registry")'),
]
# Labels Prometheus adds to every series of the egov job, and a histogram's.
TARGET_LABELS = {"system", "job", "instance", "mesh"}


def metrics_table_matches_the_code():
    problems = []
    for path, literal in PREFIXES:
        full = os.path.join(root, path)
        if not os.path.exists(full) or literal not in read(full):
            problems.append(f"{path} no longer has {literal}")
    for name, kind, labels, path, literal in METRICS:
        full = os.path.join(root, path)
        if not os.path.exists(full):
            problems.append(f"{name}: {path} is gone")
            continue
        text = read(full)
        if literal not in text:
            problems.append(f"{name}: {path} no longer registers {literal}")
        for label in labels:
            if not re.search(rf"\b{label}\b", text):
                problems.append(f"{name}: {path} has no label {label}")
    if problems:
        for p in problems:
            fail(f"metrics table: {p}")
    else:
        ok(f"the {len(METRICS)} metrics this script knows are registered in the code as named")


def series_names(name, kind):
    if kind == "counter":
        return {name + "_total"}
    if kind == "histogram":
        return {name + s for s in ("_bucket", "_sum", "_count")}
    return {name}


KNOWN = {}
for name, kind, labels, _, _ in METRICS:
    for series in series_names(name, kind):
        KNOWN[series] = set(labels) | ({"le"} if series.endswith("_bucket") else set())


def check_expression(where, expr):
    """Every egov_* name is known; every label it matches on or groups by
    is one of its metrics' labels (or a target label)."""
    problems = []
    names = set(re.findall(r"\begov_[a-z0-9_]+", expr))
    for name in sorted(names):
        if name not in KNOWN:
            problems.append(f"{where}: {name} is no metric of the mesh")
    if not names:
        return problems
    allowed = set(TARGET_LABELS)
    for name in names:
        allowed |= KNOWN.get(name, set())
    for name, matchers in re.findall(r"\b(egov_[a-z0-9_]+)\s*\{([^}]*)\}", expr):
        for label in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", matchers):
            if label not in KNOWN.get(name, set()) | TARGET_LABELS:
                problems.append(f"{where}: {name} has no label {label}")
    for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        for label in [l.strip() for l in group.split(",") if l.strip()]:
            if label not in allowed:
                problems.append(f"{where}: grouping by {label}, a label none of its metrics has")
    return problems


def grafana_to_promql(expr):
    for variable, value in (("$__rate_interval", "1m"), ("$__interval", "1m"),
                            ("$__range", "1h"), ("$system", ".*")):
        expr = expr.replace(variable, value)
    return expr


metrics_table_matches_the_code()

# --- the dashboard
try:
    board = json.loads(read(os.path.join(deploy, "grafana/dashboards/egov-mesh.json")))
except Exception as e:  # reported by json.tool above too
    board = None
    fail(f"the dashboard does not load: {e}")

try:
    import yaml
except ImportError:
    yaml = None
    skip("PyYAML is not installed (pip install PyYAML): no check of the compose file, the provisioning or the scrape targets")

datasource_uids = set()
provider_paths = []
if yaml is not None:
    try:
        ds = yaml.safe_load(read(os.path.join(deploy, "grafana/provisioning/datasources/egov-mesh.yml")))
        datasource_uids = {d["uid"] for d in ds["datasources"]}
        prov = yaml.safe_load(read(os.path.join(deploy, "grafana/provisioning/dashboards/egov-mesh.yml")))
        provider_paths = [p["options"]["path"] for p in prov["providers"]]
        ok(f"grafana provisioning parses: data sources {sorted(datasource_uids)}, dashboards from {provider_paths}")
    except Exception as e:
        fail(f"grafana provisioning: {e}")

if board is not None:
    panels = []

    def walk(items):
        for p in items:
            panels.append(p)
            walk(p.get("panels", []))

    walk(board.get("panels", []))
    ids = [p.get("id") for p in panels]
    duplicates = sorted({i for i in ids if ids.count(i) > 1 or i is None}, key=str)
    if duplicates:
        fail(f"dashboard: panel ids not unique or missing: {duplicates}")
    else:
        ok(f"dashboard: {len(panels)} panels, ids unique")
    layout = [p["title"] for p in panels
              if p["gridPos"]["x"] + p["gridPos"]["w"] > 24 or p["gridPos"]["w"] <= 0]
    if layout:
        fail(f"dashboard: panels wider than the grid: {layout}")

    expressions = []  # (where, expr)
    problems = []
    for p in panels:
        if p.get("type") == "row":
            continue
        if not p.get("targets"):
            problems.append(f"panel {p['id']} ({p['title']}) has no query")
        for t in p.get("targets", []):
            expressions.append((f"panel {p['id']} ({p['title']}) query {t.get('refId')}", t.get("expr", "")))
            for d in (p.get("datasource"), t.get("datasource")):
                if datasource_uids and d and d.get("uid") not in datasource_uids:
                    problems.append(f"panel {p['id']}: data source {d.get('uid')} is not provisioned")
    for v in board.get("templating", {}).get("list", []):
        d = v.get("datasource")
        if datasource_uids and d and d.get("uid") not in datasource_uids:
            problems.append(f"variable {v['name']}: data source {d.get('uid')} is not provisioned")
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if q:
            m = re.match(r"label_values\((.*),\s*([a-zA-Z_]+)\)$", q.strip())
            if m:
                expressions.append((f"variable {v['name']}", m.group(1)))
                if m.group(2) not in TARGET_LABELS | set().union(*[KNOWN.get(n, set()) for n in re.findall(r"\begov_[a-z0-9_]+", m.group(1))]):
                    problems.append(f"variable {v['name']}: no label {m.group(2)}")
            else:
                problems.append(f"variable {v['name']}: a query this script does not read: {q}")
    for where, expr in expressions:
        problems += check_expression(where, expr)
    if problems:
        for p in problems:
            fail(f"dashboard: {p}")
    else:
        used = sorted({n for _, e in expressions for n in re.findall(r"\begov_[a-z0-9_]+", e)})
        ok(f"dashboard: {len(expressions)} queries use {len(used)} series names, every one registered by the code, with its labels")
    # For promtool: each query as a recording rule, Grafana's variables replaced.
    with open(rules_out, "w", encoding="utf-8") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for n, (where, expr) in enumerate(expressions):
            f.write(f"      - record: dashboard:query_{n}\n        expr: {json.dumps(grafana_to_promql(expr))}\n")

# --- the compose file
if yaml is not None:
    compose_path = os.path.join(deploy, "docker-compose.yml")
    raw = read(compose_path)
    try:
        compose = yaml.safe_load(raw)
        services = compose["services"]
        ok(f"docker-compose.yml parses: {len(services)} services")
    except Exception as e:
        compose = None
        fail(f"docker-compose.yml does not parse: {e}")

if yaml is not None and compose is not None:
    # Healthchecks.
    missing = []
    for name, s in services.items():
        hc = s.get("healthcheck") or {}
        test = hc.get("test")
        if hc.get("disable") or not test or test in (["NONE"], "NONE"):
            missing.append(name)
    if missing:
        fail(f"services without a healthcheck: {missing}")
    else:
        ok(f"every service has a healthcheck ({', '.join(services)})")

    # depends_on.
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    problems = []
    graph = {}
    for name, s in services.items():
        deps = s.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        graph[name] = list(deps)
        for dep, spec in deps.items():
            condition = (spec or {}).get("condition", "service_started")
            if dep not in services:
                problems.append(f"{name} depends on {dep}, no service of this file")
                continue
            if condition not in conditions:
                problems.append(f"{name} -> {dep}: unknown condition {condition}")
            if condition == "service_healthy" and not (services[dep].get("healthcheck") or {}).get("test"):
                problems.append(f"{name} waits for {dep} to be healthy, but it has no healthcheck")
            if condition == "service_completed_successfully" and services[dep].get("restart", "no") not in ("no", "on-failure"):
                problems.append(f"{name} waits for {dep} to complete, but it restarts ({services[dep].get('restart')})")
    state = {}

    def visit(n, path):
        if state.get(n) == "done":
            return
        if state.get(n) == "open":
            problems.append(f"depends_on cycle: {' -> '.join(path + [n])}")
            return
        state[n] = "open"
        for d in graph.get(n, []):
            if d in services:
                visit(d, path + [n])
        state[n] = "done"

    for n in services:
        visit(n, [])
    if problems:
        for p in problems:
            fail(f"depends_on: {p}")
    else:
        count = sum(len(v) for v in graph.values())
        ok(f"depends_on: {count} dependencies, each on a service of the file, with a valid condition, no cycle")

    # Variables: every one used is set in .env; .env sets nothing unused.
    env_path = os.path.join(deploy, ".env")
    env = {}
    if os.path.exists(env_path):
        for line in read(env_path).splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k.strip()] = v.strip()
    strings = []

    def strings_of(node):
        if isinstance(node, dict):
            for k, v in node.items():
                strings.append(str(k))
                strings_of(v)
        elif isinstance(node, list):
            for v in node:
                strings_of(v)
        elif node is not None:
            strings.append(str(node))

    strings_of(compose)
    unescaped = "\n".join(s.replace("$$", "") for s in strings)
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", unescaped)) | set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", unescaped))
    unset = sorted(used - set(env))
    unused = sorted(set(env) - used)
    if unset:
        fail(f"variables used by docker-compose.yml but not set in deploy/.env: {unset}")
    if unused:
        fail(f"deploy/.env sets variables docker-compose.yml does not use: {unused}")
    if not unset and not unused:
        ok(f"variables: the {len(used)} the compose file uses are set in deploy/.env ({', '.join(sorted(used))})")

    # No password written in the compose file.
    problems = []

    def scan(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                scan(v, path + [str(k)])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                scan(v, path + [str(i)])
        elif isinstance(node, str):
            key = path[-1].upper() if path else ""
            if re.search(r"PASSWORD|PASSWD|_PASS$|SECRET|TOKEN", key) and not re.fullmatch(r"\$\{[^}]+\}", node):
                problems.append(f"{'.'.join(path)} is written in the file, not a ${{VARIABLE}}")
            # Each ${…} as one token, then: is a URL's password one?
            plain = re.sub(r"\$\{[^}]*\}", "${}", node)
            for m in re.finditer(r"[a-z][a-z0-9+.-]*://([^:/@\s]*):([^@\s]*)@", plain):
                if m.group(2) != "${}":
                    problems.append(f"{'.'.join(path)}: a URL with a password written in the file")

    scan(yaml.safe_load(raw), [])
    bad_values = [k for k, v in env.items()
                  if re.search(r"PASSWORD|USER", k) and not re.fullmatch(r"[A-Za-z0-9_-]+", v)]
    if bad_values:
        problems.append(f"deploy/.env: {bad_values} must be letters, digits, '-' and '_' (they go into URLs)")
    if problems:
        for p in problems:
            fail(f"credentials: {p}")
    else:
        ok("credentials: every password in docker-compose.yml is a ${VARIABLE}; deploy/.env's values are URL-safe")

    # The systems: metrics on 0.0.0.0:<port>, traces to the compose's Jaeger.
    problems = []
    metric_ports = {}
    for name, s in services.items():
        command = s.get("command") or []
        if not (isinstance(command, list) and command and str(command[0]).startswith("egov-")):
            continue
        env_s = s.get("environment") or {}
        listen = str(env_s.get("EGOV__METRICS__LISTEN", ""))
        m = re.fullmatch(r"0\.0\.0\.0:(\d+)", listen)
        if not m:
            problems.append(f"{name}: EGOV__METRICS__LISTEN is {listen!r}, not 0.0.0.0:<port> (the default, 127.0.0.1:0, is out of Prometheus' reach)")
        else:
            metric_ports[name] = int(m.group(1))
        otlp = str(env_s.get("EGOV__TELEMETRY__OTLP_ENDPOINT", ""))
        m = re.fullmatch(r"http://([a-z0-9-]+):4318/v1/traces", otlp)
        if not m or m.group(1) not in services:
            problems.append(f"{name}: EGOV__TELEMETRY__OTLP_ENDPOINT is {otlp!r}, not http://<the compose's Jaeger>:4318/v1/traces")
        if str(env_s.get("EGOV__GRPC__TLS", "")) != "mutual":
            problems.append(f"{name}: EGOV__GRPC__TLS is not 'mutual' (plaintext gRPC is for a laptop sandbox only)")
    if problems:
        for p in problems:
            fail(f"systems: {p}")
    elif not metric_ports:
        fail("systems: no service runs an egov-* binary")
    else:
        ok(f"systems: {len(metric_ports)} serve metrics on 0.0.0.0, gRPC with mutual TLS, and export traces over OTLP/HTTP ({', '.join(f'{k}:{v}' for k, v in metric_ports.items())})")

    # Prometheus scrapes exactly those, labelled by system.
    try:
        prom = yaml.safe_load(read(os.path.join(deploy, "prometheus/prometheus.yml")))
        jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
        scraped = {}
        problems = []
        for group in jobs["egov"]["static_configs"]:
            for target in group["targets"]:
                host, port = target.rsplit(":", 1)
                scraped[host] = int(port)
                if (group.get("labels") or {}).get("system") != host:
                    problems.append(f"target {target} is not labelled system={host}")
        if scraped != metric_ports:
            problems.append(f"the egov job scrapes {scraped}, the compose file serves {metric_ports}")
        for job, j in jobs.items():
            for group in j.get("static_configs", []):
                for target in group["targets"]:
                    host = target.rsplit(":", 1)[0]
                    if host != "localhost" and host not in services:
                        problems.append(f"job {job}: {target} is no service of the compose file")
        if problems:
            for p in problems:
                fail(f"prometheus.yml: {p}")
        else:
            ok(f"prometheus.yml: the egov job scrapes every system's metrics port, labelled by system; jobs {sorted(jobs)} name compose services")
    except Exception as e:
        fail(f"prometheus.yml: {e}")

    # Bind mounts exist; Grafana's dashboards are mounted where provisioning reads them.
    problems = []
    for name, s in services.items():
        for v in s.get("volumes") or []:
            source = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            if source.startswith((".", "/")):
                if not os.path.exists(os.path.normpath(os.path.join(deploy, source))):
                    problems.append(f"{name}: {source} does not exist")
    grafana_targets = {v.split(":")[1]: v.split(":")[0] for v in services.get("grafana", {}).get("volumes", []) if isinstance(v, str)}
    for path in provider_paths:
        source = grafana_targets.get(path)
        if not source or not os.path.exists(os.path.join(deploy, source, "egov-mesh.json")):
            problems.append(f"grafana reads dashboards from {path}, where the compose file mounts no directory holding egov-mesh.json")
    home = (services.get("grafana", {}).get("environment") or {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home and not any(home.startswith(t + "/") and os.path.exists(os.path.join(deploy, s, home[len(t) + 1:])) for t, s in grafana_targets.items()):
        problems.append(f"grafana's home dashboard {home} is not a mounted file")
    if problems:
        for p in problems:
            fail(f"mounts: {p}")
    else:
        ok("mounts: every bind-mounted file exists; Grafana finds the dashboard where provisioning reads it")

    # No host port published twice.
    published = {}
    for name, s in services.items():
        for p in s.get("ports") or []:
            parts = str(p).split(":")
            host_port = parts[-2] if len(parts) >= 2 else parts[0]
            published.setdefault(host_port, []).append(name)
    twice = {p: n for p, n in published.items() if len(n) > 1}
    if twice:
        fail(f"ports published twice: {twice}")
    else:
        ok(f"ports: {len(published)} published, each once ({', '.join(sorted(published, key=int))})")

sys.exit(1 if failures else 0)
PY
    status=$?
    cat "$work/python.out"
    failures=$((failures + $(grep -c '^FAIL' "$work/python.out")))
    skipped=$((skipped + $(grep -c '^skip' "$work/python.out")))
    if [ "$status" -ne 0 ] && ! grep -q '^FAIL' "$work/python.out"; then
        fail "the python checks stopped (exit $status)"
    fi
fi

# --- Compose's own validation, where a Compose is installed (no engine needed)
if docker compose version >/dev/null 2>&1; then
    compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
    compose_cmd=(docker-compose)
else
    compose_cmd=()
fi
if [ ${#compose_cmd[@]} -gt 0 ]; then
    if out=$("${compose_cmd[@]}" -f "$compose" config -q 2>&1); then
        ok "${compose_cmd[*]} config -q: the compose file is valid for $("${compose_cmd[@]}" version --short 2>/dev/null || echo Compose)"
    else
        fail "${compose_cmd[*]} config -q: $(echo "$out" | tr "\n" " ")"
    fi
else
    skip "neither docker compose nor docker-compose is installed: Compose's own schema not checked"
fi

# --- promtool
promtool=${PROMTOOL:-$(command -v promtool || true)}
if [ -n "$promtool" ] && [ -x "$promtool" ]; then
    if out=$("$promtool" check config "$prom_config" 2>&1); then
        ok "promtool check config prometheus/prometheus.yml"
    else
        fail "promtool check config: $(echo "$out" | tr "\n" " ")"
    fi
    if [ -s "$work/dashboard-rules.yml" ]; then
        if out=$("$promtool" check rules "$work/dashboard-rules.yml" 2>&1); then
            ok "promtool check rules: every dashboard query parses as PromQL ($(grep -c 'record:' "$work/dashboard-rules.yml") queries)"
        else
            fail "promtool check rules (the dashboard's queries): $(echo "$out" | tr "\n" " ")"
        fi
    else
        skip "the dashboard's queries were not extracted: PromQL not checked"
    fi
else
    skip "promtool is not installed (apt-get install prometheus, or PROMTOOL=…): prometheus.yml and the queries' PromQL not checked"
fi

if [ "$failures" -gt 0 ]; then
    echo "deploy/check.sh: $failures check(s) failed"
    exit 1
fi
if [ "$skipped" -gt 0 ] && [ "$strict" -eq 1 ]; then
    echo "deploy/check.sh: $skipped check(s) skipped (--strict)"
    exit 1
fi
if [ "$skipped" -gt 0 ]; then
    echo "deploy/check.sh: passed, $skipped check(s) skipped (see the skip lines)"
else
    echo "deploy/check.sh: all checks passed"
fi
