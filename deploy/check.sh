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
#   - broker users: every system connects to RabbitMQ as its own user,
#     <namespace>-<system> (the namespace from its settings file), with its
#     own password variable EGOV_BROKER_PASSWORD_<SYSTEM>, and none with the
#     administrator's (EGOV_RABBITMQ_USER/PASSWORD appear in no system's
#     environment); the passwords in .env differ; the broker-definitions
#     job gets exactly those variables and the administrator's and writes
#     into a volume every RabbitMQ node mounts where its load_definitions
#     points, each node waiting for it; a node's default user is the
#     administrator; the operators' egovctl has the administrator's URL;
#     every system uses the same queue type;
#   - docker-compose.cluster.yml, merged onto docker-compose.yml as Compose
#     merges (mappings by key, volumes by target): all of the above again,
#     and three RabbitMQ nodes with distinct hostnames that the classic
#     config node list names exactly, one Erlang cookie
#     ${EGOV_RABBITMQ_ERLANG_COOKIE:?…} that the committed and the staged
#     deploy/.env never set (it is documented there, commented out), nodes
#     2 and 3 joining node 1 once it is healthy, and every system on the
#     nodes' shared alias with quorum queues, starting once all three nodes
#     are healthy;
#   - `docker compose config -q` (or docker-compose's), where one is
#     installed, for the file alone and with the overlay (a throwaway
#     cookie where none is set): Compose's own schema and interpolation;
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
cluster="$here/docker-compose.cluster.yml"
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

# --- the compose files: the base file alone, and the base file with the
# cluster overlay merged as Compose merges them (mappings key by key; volumes
# and ports by their target; anything else replaced)
COMPOSE_FILE = "docker-compose.yml"
CLUSTER_FILE = "docker-compose.cluster.yml"
# Secrets the repository holds no value for, not even a sandbox one: used
# only as ${VARIABLE:?…}, documented (commented out) in deploy/.env, set by
# the operator; never in the committed or staged deploy/.env.
OPERATOR_SECRETS = {"EGOV_RABBITMQ_ERLANG_COOKIE"}
# The administrator's broker credentials (deploy/.env); no system uses them.
ADMIN_VARS = ("EGOV_RABBITMQ_USER", "EGOV_RABBITMQ_PASSWORD")


def volume_target(v):
    if isinstance(v, dict):
        return v.get("target")
    parts = str(v).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def merge(base, over, key=None):
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v, k) if k in base else v
        return out
    if isinstance(base, list) and isinstance(over, list) and key in ("volumes", "ports", "aliases", "expose"):
        ident = volume_target if key == "volumes" else str
        replaced = {ident(v) for v in over}
        return [v for v in base if ident(v) not in replaced] + list(over)
    return over


def load_compose(name):
    try:
        model = yaml.safe_load(read(os.path.join(deploy, name)))
        return model, model["services"]
    except Exception as e:
        fail(f"{name} does not parse: {e}")
        return None, None


def read_env_file(text):
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    return values


def variables_used(model):
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

    strings_of(model)
    unescaped = "\n".join(s.replace("$$", "") for s in strings)
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", unescaped)) | set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", unescaped))
    return used, unescaped


def system_of(s):
    """The mesh system a service runs (its egov-<system> binary), or None."""
    command = s.get("command") or []
    if isinstance(command, list) and command and str(command[0]).startswith("egov-"):
        return str(command[0])[len("egov-"):]
    return None


def env_of(s):
    e = s.get("environment") or {}
    if isinstance(e, list):
        e = dict(item.split("=", 1) if "=" in item else (item, "") for item in e)
    return {k: "" if v is None else str(v) for k, v in e.items()}


def is_var(value, name):
    """value is exactly ${name} (with or without :?/:- words)."""
    return re.fullmatch(r"\$\{" + re.escape(name) + r"(?:[:?-][^}]*)?\}", value or "") is not None


def aliases_of(s):
    nets = s.get("networks") or {}
    out = set()
    if isinstance(nets, dict):
        for spec in nets.values():
            out |= set((spec or {}).get("aliases") or [])
    return out


def mounts_of(s):
    """(source, target) of each of a service's volumes."""
    out = []
    for v in s.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("source", ""), v.get("target", "")))
        else:
            parts = str(v).split(":")
            out.append((parts[0], parts[1] if len(parts) > 1 else parts[0]))
    return out


def rabbit_conf(path):
    conf = {}
    for line in read(path).splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            k, v = line.split("=", 1)
            conf[k.strip()] = v.strip()
    return conf


def namespace_of(name, s):
    """The bus namespace a system's service uses: EGOV__BUS__NAMESPACE, or
    its settings file's [bus] namespace."""
    e = env_of(s)
    if "EGOV__BUS__NAMESPACE" in e:
        return e["EGOV__BUS__NAMESPACE"]
    command = [str(c) for c in s.get("command") or []]
    if "--config" in command:
        path = os.path.join(root, command[command.index("--config") + 1])
        try:
            import tomllib
            with open(path, "rb") as f:
                return tomllib.load(f)["bus"]["namespace"]
        except Exception as e:
            fail(f"{name}: cannot read the bus namespace from {path}: {e}")
    return None


def generic_checks(label, tag, compose, services):
    """The checks every compose model passes. Returns the variables it uses."""
    # Healthchecks.
    missing = []
    for name, s in services.items():
        hc = s.get("healthcheck") or {}
        test = hc.get("test")
        if hc.get("disable") or not test or test in (["NONE"], "NONE"):
            missing.append(name)
    if missing:
        fail(f"{tag}services without a healthcheck: {missing}")
    else:
        ok(f"{tag}every service has a healthcheck ({', '.join(services)})")

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
                problems.append(f"{name} depends on {dep}, no service of {label}")
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
            fail(f"{tag}depends_on: {p}")
    else:
        count = sum(len(v) for v in graph.values())
        ok(f"{tag}depends_on: {count} dependencies, each on a service of the file, with a valid condition, no cycle")

    # Variables: every one used is set in .env (an operator's secret is
    # checked apart, below).
    used, unescaped = variables_used(compose)
    unset = sorted(used - set(env) - OPERATOR_SECRETS)
    if unset:
        fail(f"{tag}variables used by {label} but not set in deploy/.env: {unset}")
    else:
        ok(f"{tag}variables: the {len(used)} {label} uses are set in deploy/.env ({', '.join(sorted(used))})"
           + (f", but {', '.join(sorted(used & OPERATOR_SECRETS))}, the operator's own" if used & OPERATOR_SECRETS else ""))
    for secret in sorted(used & OPERATOR_SECRETS):
        forms = re.findall(r"\$\{" + secret + r"([^}]*)\}", unescaped)
        if any(not f.startswith(":?") for f in forms):
            fail(f"{tag}{secret} is used without :? (a missing value must stop Compose, not become empty)")

    # No password written in the file.
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
            if re.search(r"PASSWORD|PASSWD|_PASS$|SECRET|TOKEN|COOKIE", key) and not re.fullmatch(r"\$\{[^}]+\}", node):
                problems.append(f"{'.'.join(path)} is written in the file, not a ${{VARIABLE}}")
            # Each ${…} as one token, then: is a URL's password one?
            plain = re.sub(r"\$\{[^}]*\}", "${}", node)
            for m in re.finditer(r"[a-z][a-z0-9+.-]*://([^:/@\s]*):([^@\s]*)@", plain):
                if m.group(2) != "${}":
                    problems.append(f"{'.'.join(path)}: a URL with a password written in the file")

    scan(compose, [])
    bad_values = [k for k, v in env.items()
                  if re.search(r"PASSWORD|USER", k) and not re.fullmatch(r"[A-Za-z0-9_-]+", v)]
    if bad_values:
        problems.append(f"deploy/.env: {bad_values} must be letters, digits, '-' and '_' (they go into URLs)")
    if problems:
        for p in problems:
            fail(f"{tag}credentials: {p}")
    else:
        ok(f"{tag}credentials: every password and secret in {label} is a ${{VARIABLE}}; deploy/.env's values are URL-safe")

    # The systems: metrics on 0.0.0.0:<port>, traces to the compose's Jaeger.
    problems = []
    metric_ports = {}
    for name, s in services.items():
        if system_of(s) is None:
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
            fail(f"{tag}systems: {p}")
    elif not metric_ports:
        fail(f"{tag}systems: no service runs an egov-* binary")
    else:
        ok(f"{tag}systems: {len(metric_ports)} serve metrics on 0.0.0.0, gRPC with mutual TLS, and export traces over OTLP/HTTP ({', '.join(f'{k}:{v}' for k, v in metric_ports.items())})")

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
            problems.append(f"the egov job scrapes {scraped}, {label} serves {metric_ports}")
        for job, j in jobs.items():
            for group in j.get("static_configs", []):
                for target in group["targets"]:
                    host = target.rsplit(":", 1)[0]
                    if host != "localhost" and host not in services:
                        problems.append(f"job {job}: {target} is no service of {label}")
        if problems:
            for p in problems:
                fail(f"{tag}prometheus.yml: {p}")
        else:
            ok(f"{tag}prometheus.yml: the egov job scrapes every system's metrics port, labelled by system; jobs {sorted(jobs)} name compose services")
    except Exception as e:
        fail(f"{tag}prometheus.yml: {e}")

    # Bind mounts exist; Grafana's dashboards are mounted where provisioning reads it.
    problems = []
    for name, s in services.items():
        for source, _ in mounts_of(s):
            if source.startswith((".", "/")):
                if not os.path.exists(os.path.normpath(os.path.join(deploy, source))):
                    problems.append(f"{name}: {source} does not exist")
    grafana_targets = {v.split(":")[1]: v.split(":")[0] for v in services.get("grafana", {}).get("volumes", []) if isinstance(v, str)}
    for path in provider_paths:
        source = grafana_targets.get(path)
        if not source or not os.path.exists(os.path.join(deploy, source, "egov-mesh.json")):
            problems.append(f"grafana reads dashboards from {path}, where {label} mounts no directory holding egov-mesh.json")
    home = (services.get("grafana", {}).get("environment") or {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home and not any(home.startswith(t + "/") and os.path.exists(os.path.join(deploy, s, home[len(t) + 1:])) for t, s in grafana_targets.items()):
        problems.append(f"grafana's home dashboard {home} is not a mounted file")
    if problems:
        for p in problems:
            fail(f"{tag}mounts: {p}")
    else:
        ok(f"{tag}mounts: every bind-mounted file exists; Grafana finds the dashboard where provisioning reads it")

    # No host port published twice.
    published = {}
    for name, s in services.items():
        for p in s.get("ports") or []:
            parts = str(p).split(":")
            host_port = parts[-2] if len(parts) >= 2 else parts[0]
            published.setdefault(host_port, []).append(name)
    twice = {p: n for p, n in published.items() if len(n) > 1}
    if twice:
        fail(f"{tag}ports published twice: {twice}")
    else:
        ok(f"{tag}ports: {len(published)} published, each once ({', '.join(sorted(published, key=int))})")
    return used


def broker_checks(label, tag, services):
    """Each system on the broker as its own user; the users loaded at boot;
    the administrator for operators only. Returns {system service: (host,
    queue type)}."""
    admin_user = env.get("EGOV_RABBITMQ_USER")
    systems = {name: system_of(s) for name, s in services.items() if system_of(s)}
    problems = []
    namespaces = set()
    links = {}
    for name, system in systems.items():
        s = services[name]
        e = env_of(s)
        ns = namespace_of(name, s)
        namespaces.add(ns)
        expected_user = f"{ns}-{system}"
        expected_var = f"EGOV_BROKER_PASSWORD_{system.upper()}"
        url = e.get("EGOV__BUS__URL", "")
        m = re.fullmatch(r"amqps?://(\$\{[^}]*\}|[^:@/]+):(\$\{[^}]*\}|[^@]*)@([^:/@]+):(\d+)/(.*)", url)
        if not m:
            problems.append(f"{name}: EGOV__BUS__URL is not amqp://<user>:${{{expected_var}}}@<host>:<port>/<vhost>")
            continue
        user, password, host = m.group(1), m.group(2), m.group(3)
        if is_var(user, "EGOV_RABBITMQ_USER"):
            problems.append(f"{name}: connects to the broker as the administrator (${{EGOV_RABBITMQ_USER}})")
        elif user != expected_user:
            problems.append(f"{name}: connects to the broker as {user!r}, not its own user {expected_user!r}")
        if not is_var(password, expected_var):
            problems.append(f"{name}: its broker password is {password}, not its own ${{{expected_var}}}")
        if admin_user and user == admin_user:
            problems.append(f"{name}: connects as the administrator ({admin_user})")
        uses_admin = [k for k, v in e.items() if any(a in v for a in ADMIN_VARS)]
        if uses_admin:
            problems.append(f"{name}: {uses_admin} carry the administrator's broker credentials")
        if host not in services and not any(host in aliases_of(o) for o in services.values()):
            problems.append(f"{name}: the broker host {host} is no service or network alias of {label}")
        queue_type = e.get("EGOV__BUS__QUEUE_TYPE", "classic")
        if queue_type not in ("classic", "quorum"):
            problems.append(f"{name}: EGOV__BUS__QUEUE_TYPE is {queue_type!r}, not classic or quorum")
        links[name] = (host, queue_type)
    types = {t for _, t in links.values()}
    if len(types) > 1:
        problems.append(f"the systems of one namespace declare different queue types: { {n: t for n, (_, t) in links.items()} }")
    if len(namespaces) > 1:
        problems.append(f"the systems use different namespaces: {sorted(map(str, namespaces))}")
    variables = [f"EGOV_BROKER_PASSWORD_{system.upper()}" for system in systems.values()]
    values = [env.get(v) for v in variables] + [env.get("EGOV_RABBITMQ_PASSWORD")]
    if None not in values and len(set(values)) != len(values):
        problems.append("deploy/.env: each system's broker password must differ from the others' and from the administrator's")

    # The users RabbitMQ loads: the definitions job has every system's
    # password variable, the same ones the systems use, and the
    # administrator's; every node loads what it writes.
    jobs = [n for n, s in services.items() if "broker-definitions.sh" in " ".join(map(str, s.get("command") or []))]
    if len(jobs) != 1:
        problems.append(f"expected one broker-definitions job, found {jobs}")
    else:
        job = jobs[0]
        js = services[job]
        je = env_of(js)
        for var in variables:
            if not is_var(je.get(var), var):
                problems.append(f"{job}: {var} is {je.get(var)!r}, not ${{{var}}} (the variable the system connects with)")
        if je.get("EGOV_NAMESPACE") not in namespaces:
            problems.append(f"{job}: EGOV_NAMESPACE {je.get('EGOV_NAMESPACE')!r} is not the systems' namespace {sorted(map(str, namespaces))}")
        if not is_var(je.get("EGOV_OPERATOR_BROKER_USER"), "EGOV_RABBITMQ_USER") or not is_var(je.get("EGOV_OPERATOR_BROKER_PASSWORD"), "EGOV_RABBITMQ_PASSWORD"):
            problems.append(f"{job}: the administrator is not EGOV_RABBITMQ_USER / EGOV_RABBITMQ_PASSWORD")
        if js.get("restart", "no") != "no":
            problems.append(f"{job}: a one-shot job must not restart")
        script = os.path.join(deploy, "rabbitmq/broker-definitions.sh")
        if "egovctl broker definitions --namespace" not in read(script):
            problems.append("rabbitmq/broker-definitions.sh does not run egovctl broker definitions --namespace")
        out_dir = je.get("EGOV_DEFINITIONS_DIR")
        volume = next((src for src, dst in mounts_of(js) if dst == out_dir), None)
        if not volume or volume.startswith((".", "/")):
            problems.append(f"{job}: EGOV_DEFINITIONS_DIR {out_dir} is not a named volume")
        nodes = [n for n, s in services.items() if str(s.get("image", "")).startswith("rabbitmq:")]
        if not nodes:
            problems.append(f"no RabbitMQ service in {label}")
        for node in nodes:
            ns_ = services[node]
            ne = env_of(ns_)
            conf_path = None
            for src, dst in mounts_of(ns_):
                if src.startswith(".") and dst.startswith("/etc/rabbitmq/conf.d/") and "load_definitions" in rabbit_conf(os.path.join(deploy, src)):
                    conf_path = os.path.join(deploy, src)
            if conf_path is None:
                problems.append(f"{node}: no configuration file in conf.d sets load_definitions")
                continue
            where = rabbit_conf(conf_path)["load_definitions"]
            if (volume, where) not in [(src, dst) for src, dst in mounts_of(ns_)]:
                problems.append(f"{node}: load_definitions reads {where}, where the {volume} volume is not mounted")
            dep = (ns_.get("depends_on") or {}).get(job) or {}
            if dep.get("condition") != "service_completed_successfully":
                problems.append(f"{node}: does not wait for {job} to complete")
            if not is_var(ne.get("RABBITMQ_DEFAULT_USER"), "EGOV_RABBITMQ_USER"):
                problems.append(f"{node}: RABBITMQ_DEFAULT_USER is not the administrator (a blank node must never get `guest`)")

    # The operators' egovctl reaches the broker as the administrator.
    def amqp_user(url):
        m = re.match(r"amqps?://(\$\{[^}]*\}|[^:@/]+):", url)
        return m.group(1) if m else ""

    operators = [n for n, s in services.items()
                 if is_var(amqp_user(env_of(s).get("EGOV_AMQP_URL", "")), "EGOV_RABBITMQ_USER")]
    if not operators:
        problems.append("no service gives the operators' egovctl the administrator's broker URL (EGOV_AMQP_URL)")
    if problems:
        for p in problems:
            fail(f"{tag}broker users: {p}")
    else:
        ok(f"{tag}broker users: each of the {len(systems)} systems connects as its own user ({', '.join(sorted(f'{ns}-{s}' for s in systems.values() for ns in namespaces))}) "
           f"with its own password variable, none as the administrator; the broker-definitions job writes those users and the administrator, "
           f"which every RabbitMQ node ({', '.join(nodes)}) loads at boot; egovctl in {', '.join(operators)} uses the administrator; "
           f"queue type {', '.join(sorted(types))} for all")
    return links


def cluster_checks(tag, services, links):
    """The three-node cluster: one cookie, the node list agrees with the
    hostnames, one alias every system connects to, quorum queues, and the
    systems start once every node is healthy."""
    problems = []
    nodes = [n for n, s in services.items() if str(s.get("image", "")).startswith("rabbitmq:")]
    if len(nodes) != 3:
        problems.append(f"expected three RabbitMQ nodes, found {nodes}")
    hostnames = {n: services[n].get("hostname") for n in nodes}
    if None in hostnames.values() or len(set(hostnames.values())) != len(nodes):
        problems.append(f"each node needs a hostname of its own (its node name): {hostnames}")
    cookies = {n: env_of(services[n]).get("RABBITMQ_ERLANG_COOKIE") for n in nodes}
    if len(set(cookies.values())) != 1 or not all(is_var(c, "EGOV_RABBITMQ_ERLANG_COOKIE") for c in cookies.values()):
        problems.append(f"every node must take the one cookie ${{EGOV_RABBITMQ_ERLANG_COOKIE:?…}}: {cookies}")
    listed = None
    for n in nodes:
        confs = [os.path.join(deploy, src) for src, dst in mounts_of(services[n])
                 if src.startswith(".") and dst.startswith("/etc/rabbitmq/conf.d/")]
        cluster_confs = [c for c in confs if rabbit_conf(c).get("cluster_formation.peer_discovery_backend")]
        if len(cluster_confs) != 1:
            problems.append(f"{n}: mounts {len(cluster_confs)} cluster configuration files, not one")
            continue
        conf = rabbit_conf(cluster_confs[0])
        if conf.get("cluster_formation.peer_discovery_backend") != "classic_config":
            problems.append(f"{n}: peer discovery is not classic_config")
        these = {k: v for k, v in conf.items() if k.startswith("cluster_formation.classic_config.nodes.")}
        if listed is None:
            listed = these
        elif these != listed:
            problems.append(f"{n}: its node list differs from the others'")
    if listed is not None and set(listed.values()) != {f"rabbit@{h}" for h in hostnames.values()}:
        problems.append(f"the classic config lists {sorted(listed.values())}, the nodes are {sorted(f'rabbit@{h}' for h in hostnames.values())}")
    first = None
    if listed:
        first_name = listed.get("cluster_formation.classic_config.nodes.1", "")
        first = next((n for n, h in hostnames.items() if f"rabbit@{h}" == first_name), None)
    for n in nodes:
        if n != first and ((services[n].get("depends_on") or {}).get(first) or {}).get("condition") != "service_healthy":
            problems.append(f"{n}: must start once {first} (nodes.1) is healthy, to join it")
    shared = set.intersection(*[aliases_of(services[n]) for n in nodes]) if nodes else set()
    if not shared:
        problems.append("the nodes share no network alias for the systems to connect to")
    for name, (host, queue_type) in links.items():
        if host not in shared:
            problems.append(f"{name}: connects to {host}, not to the nodes' shared alias {sorted(shared)}")
        if queue_type != "quorum":
            problems.append(f"{name}: EGOV__BUS__QUEUE_TYPE is {queue_type}, not quorum")
        deps = services[name].get("depends_on") or {}
        for n in nodes:
            if (deps.get(n) or {}).get("condition") != "service_healthy":
                problems.append(f"{name}: does not wait for {n} to be healthy (a quorum queue declared before a node joins gets no member there)")
    # The cookie never in the repository's deploy/.env (committed or staged).
    import subprocess
    committed = []
    for rev, what in (("HEAD:deploy/.env", "committed"), (":deploy/.env", "staged")):
        try:
            text = subprocess.run(["git", "-C", root, "show", rev], capture_output=True, text=True, check=True).stdout
        except Exception:
            continue
        committed.append(what)
        for secret in sorted(OPERATOR_SECRETS):
            if read_env_file(text).get(secret):
                problems.append(f"the {what} deploy/.env sets {secret}: the repository must hold no value for it")
    for secret in sorted(OPERATOR_SECRETS):
        if not re.search(r"^#\s*" + secret + "=", read(os.path.join(deploy, ".env")), re.M):
            problems.append(f"deploy/.env does not document {secret} (a commented-out line)")
    if problems:
        for p in problems:
            fail(f"{tag}{p}")
    else:
        ok(f"{tag}nodes {', '.join(f'{n} (rabbit@{h})' for n, h in hostnames.items())} share one cookie "
           f"(${{EGOV_RABBITMQ_ERLANG_COOKIE}}, " + (f"no value in the {' or '.join(committed)} deploy/.env" if committed else "not a git checkout: the repository's deploy/.env not checked for it") + "), discover each other by classic config, "
           f"join {first} once it is healthy; every system connects to {', '.join(sorted(shared))} with quorum queues once all three are healthy")


if yaml is not None:
    env_text = read(os.path.join(deploy, ".env")) if os.path.exists(os.path.join(deploy, ".env")) else ""
    env = read_env_file(env_text)
    base, base_services = load_compose(COMPOSE_FILE)
    overlay, overlay_services = load_compose(CLUSTER_FILE)
    used_all = set()
    if base is not None:
        ok(f"{COMPOSE_FILE} parses: {len(base_services)} services")
        used_all |= generic_checks(COMPOSE_FILE, "", base, base_services)
        broker_checks(COMPOSE_FILE, "", base_services)
    if base is not None and overlay is not None:
        unknown = [n for n in overlay_services if n not in base_services and not str((overlay_services[n] or {}).get("image", "")).startswith("rabbitmq:")]
        merged = merge(base, overlay)
        merged_services = merged["services"]
        label = f"{COMPOSE_FILE} + {CLUSTER_FILE}"
        ok(f"{CLUSTER_FILE} parses and merges onto {COMPOSE_FILE}: {len(merged_services)} services"
           + (f" (new: {', '.join(n for n in merged_services if n not in base_services)})"))
        if unknown:
            fail(f"cluster: {CLUSTER_FILE} adds services that are no RabbitMQ node: {unknown}")
        used_all |= generic_checks(label, "cluster: ", merged, merged_services)
        links = broker_checks(label, "cluster: ", merged_services)
        cluster_checks("cluster: ", merged_services, links)
    unused = sorted(set(env) - used_all)
    if unused:
        fail(f"deploy/.env sets variables no compose file uses: {unused}")

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
    # The overlay needs the operator's Erlang cookie, which the repository
    # never holds: a throwaway one, for this check only, where none is set.
    if out=$(EGOV_RABBITMQ_ERLANG_COOKIE="${EGOV_RABBITMQ_ERLANG_COOKIE:-check-sh-placeholder-not-a-cookie}" \
        "${compose_cmd[@]}" -f "$compose" -f "$cluster" config -q 2>&1); then
        ok "${compose_cmd[*]} -f docker-compose.yml -f docker-compose.cluster.yml config -q: the cluster overlay is valid"
    else
        fail "${compose_cmd[*]} config -q (with the cluster overlay): $(echo "$out" | tr "\n" " ")"
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
