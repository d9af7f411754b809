"""What the schemas cannot see in deploy/: the files' references to each other and to Herald.

- settings: every setting a file gives Herald (the image's ENV, compose's environment, the
  ConfigMap and Secret, the systemd units) is one deploy/.env.example lists, so a misspelt name
  never goes unnoticed (Herald ignores settings it does not know);
- image: the Dockerfile copies every workspace member and every file the crates include from outside
  their own directory, and .dockerignore lets each of them through;
- compose: dependencies name services, the Herald services wait for a healthy Postgres and a migrate
  that completed, run a Herald subcommand, probe themselves with `herald probe` on a port Herald
  listens on, and are given longer than Herald's 30 s drain to stop;
- kubernetes: the kustomization lists every manifest (the Secret template apart) and sets no
  namespace, nor does any manifest; Deployments' selectors match their pods; Services, PDBs and the
  ScaledObject find what they point at; probes use /health/live and /health/ready on declared
  ports that are the ports Herald listens on (BIND_ADDR, METRICS_BIND_ADDR); every container runs
  a Herald subcommand as non-root on a read-only root with no privilege escalation and no
  capabilities, with requests and limits, and pods stop in more than 30 s; the worker Deployment
  leaves its replicas to KEDA; envFrom names the ConfigMap and the Secret;
- systemd: each unit runs its subcommand with the settings file /etc/herald/herald.env, restarts on
  failure, stops with SIGTERM and more than 30 s, and keeps the hardening options.
"""

from __future__ import annotations

import configparser
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DRAIN_SECONDS = 30  # STOP_GRACE in src/lib.rs
SUBCOMMANDS = {"all", "api", "worker", "scheduler", "migrate"}
PROBES = {"/health/live", "/health/ready"}
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "DynamicUser": "yes",
    "CapabilityBoundingSet": "",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
}

errors: list[str] = []


def error(where: str, message: str) -> None:
    errors.append(f"{where}: {message}")


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def seconds(value) -> float:
    """A duration as compose or systemd write it: 45s, 1m30s, 2min, 90."""
    if isinstance(value, (int, float)):
        return float(value)
    total = 0.0
    for n, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(ms|min|h|m|s|)", str(value)):
        total += float(n) * {"ms": 0.001, "s": 1, "": 1, "m": 60, "min": 60, "h": 3600}[unit]
    return total


def settings() -> set[str]:
    names = set()
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if m:
            names.add(m.group(1))
    return names


def port_of(addr: str) -> int:
    return int(str(addr).rsplit(":", 1)[1])


# --- the image -------------------------------------------------------------------------------------

def dockerignore_excludes(patterns: list[tuple[bool, str]], path: str) -> bool:
    """Whether Docker leaves `path` out of the context: the last matching pattern decides, a
    pattern also matching every path beneath what it names."""
    excluded = False
    parts = path.split("/")
    for negate, pattern in patterns:
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


def check_image(known: set[str]) -> None:
    dockerfile = DEPLOY / "Dockerfile"
    where = rel(dockerfile)
    text = dockerfile.read_text()
    lines = re.sub(r"\\\n", " ", text).splitlines()
    stages = [i for i, l in enumerate(lines) if l.startswith("FROM ")]
    copied: list[str] = []
    for l in lines:
        m = re.match(r"^COPY\s+(?!--from)(.*)$", l)
        if m:
            *sources, _dest = m.group(1).split()
            copied += [s.rstrip("/") for s in sources if not s.startswith("--")]
    patterns = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append((line.startswith("!"), line.lstrip("!").strip("/")))
    for src in copied:
        path = ROOT / src
        if not path.exists():
            error(where, f"COPY {src}: no such file in the repository")
            continue
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        kept = [f for f in files if not dockerignore_excludes(patterns, rel(f))]
        if not kept:
            error(".dockerignore", f"leaves out {src}, which the Dockerfile copies")
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
    needed = set(workspace) | {"Cargo.toml", "Cargo.lock", "src", ".cargo", "migrations"}
    for crate in sorted(needed - set(copied)):
        error(where, f"{crate} is part of the build (workspace member or root) but not copied")
    # Files the crates include from outside their own directory (include_str!, include_bytes!,
    # sqlx::migrate!), in code that is not compiled for tests only.
    for rs in [*ROOT.glob("src/**/*.rs"), *ROOT.glob("*/src/**/*.rs")]:
        top = rs.relative_to(ROOT).parts[0]
        if top not in needed or test_only(rs):
            continue
        for m in re.finditer(r'include_(?:str|bytes)!\("([^"]+)"\)|migrate!\("([^"]+)"\)', rs.read_text()):
            target = (rs.parent / (m.group(1) or m.group(2))).resolve() if m.group(1) else (
                (ROOT / top / m.group(2)).resolve()
            )
            first = target.relative_to(ROOT).parts[0]
            if first not in copied:
                error(where, f"{rel(rs)} includes {rel(target)}, which is not copied")
    # The final stage's settings.
    final = lines[stages[-1]:]
    for l in final:
        m = re.match(r"^ENV\s+(.*)$", l)
        if m:
            for name in re.findall(r"([A-Z][A-Z0-9_]*)=", m.group(1)):
                if name not in known:
                    error(where, f"ENV {name} is not a setting of deploy/.env.example")
    for needle, why in [
        ("USER 65532", "the runtime runs as a non-root, numeric user"),
        ('ENTRYPOINT ["herald"]', "the entrypoint is herald"),
        ('CMD ["all"]', "the default command is all"),
        ("HEALTHCHECK", "the image has a health check"),
        ('"herald", "probe"', "the health check is herald probe"),
        ("HERALD_ENV=production", "the image runs in production mode"),
        ("EXPOSE 8080 9090", "both ports are exposed"),
    ]:
        if needle not in "\n".join(final):
            error(where, f"final stage: expected {needle!r} ({why})")


def test_only(rs: Path) -> bool:
    """Whether a module file is declared `#[cfg(test)] mod name;` by its parent."""
    for parent in ("lib.rs", "main.rs", "mod.rs"):
        decl = rs.parent / parent
        if decl.exists() and decl != rs:
            text = decl.read_text()
            if re.search(rf"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod {re.escape(rs.stem)};", text):
                return True
    return rs.parts[-2] == "tests"


# --- compose ---------------------------------------------------------------------------------------

def check_compose(known: set[str]) -> None:
    path = DEPLOY / "compose.yaml"
    where = rel(path)
    c = yaml.safe_load(path.read_text())
    services = c.get("services", {})
    volumes = set(c.get("volumes") or {})
    herald = {n: s for n, s in services.items() if "herald" in str(s.get("image", ""))}
    if set(herald) != {"migrate", "api", "worker", "scheduler"}:
        error(where, f"Herald services {sorted(herald)}, expected migrate, api, worker and scheduler")
    pg = services.get("postgres", {})
    if not str(pg.get("image", "")).startswith("postgres:15"):
        error(where, "postgres: expected the postgres:15 image")
    if "pg_isready" not in " ".join(map(str, pg.get("healthcheck", {}).get("test", []))):
        error(where, "postgres: the health check is not pg_isready")
    for name, s in services.items():
        for v in s.get("volumes", []) or []:
            source = str(v).split(":")[0]
            if not source.startswith((".", "/")) and source not in volumes:
                error(where, f"{name}: volume {source} is not declared")
        for dep in s.get("depends_on", {}) or {}:
            if dep not in services:
                error(where, f"{name} depends on {dep}, which is no service")
    for name, s in herald.items():
        w = f"{where}: {name}"
        command = s.get("command") or []
        if not command or command[0] not in SUBCOMMANDS:
            error(w, f"command {command}: expected a herald subcommand")
        env = s.get("environment", {})
        for key in env:
            if key not in known:
                error(w, f"environment {key} is not a setting of deploy/.env.example")
        if env.get("HERALD_ENV") != "production":
            error(w, "HERALD_ENV is not production")
        if seconds(s.get("stop_grace_period", 10)) <= DRAIN_SECONDS:
            error(w, f"stop_grace_period {s.get('stop_grace_period', '10s')} is not above the {DRAIN_SECONDS} s drain")
        deps = s.get("depends_on", {})
        if deps.get("postgres", {}).get("condition") != "service_healthy":
            error(w, "does not wait for a healthy postgres")
        if name == "migrate":
            if str(s.get("restart")) != "no":
                error(w, "a one-shot service must not restart")
            continue
        if deps.get("migrate", {}).get("condition") != "service_completed_successfully":
            error(w, "does not wait for migrate to complete successfully")
        test = s.get("healthcheck", {}).get("test", [])
        ports = {port_of(env.get("BIND_ADDR", ":0")), port_of(env.get("METRICS_BIND_ADDR", ":0"))}
        m = re.match(r"http://127\.0\.0\.1:(\d+)/health/ready$", test[-1] if test else "")
        if test[:3] != ["CMD", "herald", "probe"] or not m:
            error(w, f"health check {test}: expected herald probe of /health/ready")
        elif int(m.group(1)) not in ports:
            error(w, f"health check probes port {m.group(1)}, where Herald does not listen ({sorted(ports)})")
    if herald.get("worker", {}).get("deploy", {}).get("replicas", 1) < 2:
        error(where, "worker: expected several replicas")


# --- kubernetes ------------------------------------------------------------------------------------

def check_kubernetes(known: set[str]) -> None:
    k8s = DEPLOY / "k8s"
    kustomization = yaml.safe_load((k8s / "kustomization.yaml").read_text())
    listed = kustomization.get("resources", [])
    on_disk = sorted(p.name for p in k8s.glob("*.yaml") if p.name != "kustomization.yaml")
    for name in on_disk:
        if name not in listed and not name.endswith(".example.yaml"):
            error("deploy/k8s/kustomization.yaml", f"{name} is not listed in resources")
    for name in listed:
        if not (k8s / name).exists():
            error("deploy/k8s/kustomization.yaml", f"resource {name} does not exist")
    if "namespace" in kustomization:
        error("deploy/k8s/kustomization.yaml", "sets a namespace (the manifests are namespace-agnostic)")

    objects = []
    for name in on_disk:
        for doc in yaml.safe_load_all((k8s / name).read_text()):
            if doc:
                objects.append((f"deploy/k8s/{name}", doc))
                if "namespace" in doc.get("metadata", {}):
                    error(f"deploy/k8s/{name}", f"{doc['kind']}/{doc['metadata']['name']} sets a namespace")

    def find(kind, name=None):
        return [(f, o) for f, o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]

    config = {}
    for _, o in find("ConfigMap"):
        config.update(o.get("data", {}))
        for key in o.get("data", {}):
            if key not in known:
                error(f"ConfigMap/{o['metadata']['name']}", f"{key} is not a setting of deploy/.env.example")
    secret_keys = set()
    for _, o in find("Secret"):
        secret_keys |= set(o.get("stringData", {})) | set(o.get("data", {}))
        for key in o.get("stringData", {}):
            if key not in known:
                error(f"Secret/{o['metadata']['name']}", f"{key} is not a setting of deploy/.env.example")
    http_port = port_of(config.get("BIND_ADDR", ":8080"))
    if not config.get("METRICS_BIND_ADDR"):
        error("ConfigMap", "no METRICS_BIND_ADDR: worker and scheduler pods would have no probes and no /metrics")
        return
    metrics_port = port_of(config["METRICS_BIND_ADDR"])
    if config.get("HERALD_ENV") != "production":
        error("ConfigMap", "HERALD_ENV is not production")

    workloads = find("Deployment") + find("Job")
    pods = {}
    for f, o in workloads:
        name = o["metadata"]["name"]
        w = f"{f}: {o['kind']}/{name}"
        spec = o["spec"]
        tpl = spec["template"]
        labels = tpl["metadata"].get("labels", {})
        pods[name] = (labels, tpl["spec"])
        if o["kind"] == "Deployment":
            sel = spec.get("selector", {}).get("matchLabels", {})
            if not sel or any(labels.get(k) != v for k, v in sel.items()):
                error(w, f"selector {sel} does not match the pod labels {labels}")
            if tpl["spec"].get("terminationGracePeriodSeconds", 30) <= DRAIN_SECONDS:
                error(w, f"terminationGracePeriodSeconds is not above the {DRAIN_SECONDS} s drain")
        pod_sc = tpl["spec"].get("securityContext", {})
        if pod_sc.get("runAsNonRoot") is not True:
            error(w, "the pod does not set runAsNonRoot")
        if tpl["spec"].get("automountServiceAccountToken") is not False:
            error(w, "mounts a service account token it does not need")
        for c in tpl["spec"]["containers"]:
            cw = f"{w} container {c['name']}"
            args = c.get("args") or []
            component = labels.get("app.kubernetes.io/component")
            if not args or args[0] not in SUBCOMMANDS or args[0] != component:
                error(cw, f"args {args}: expected the herald subcommand of its component {component}")
            sc = c.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                error(cw, "root filesystem is not read-only")
            if sc.get("allowPrivilegeEscalation") is not False:
                error(cw, "allows privilege escalation")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                error(cw, "does not drop every capability")
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(kind, {}):
                        error(cw, f"no {kind}.{r}")
            refs = {(next(iter(e)), e[next(iter(e))]["name"]) for e in c.get("envFrom", [])}
            if refs != {("configMapRef", "herald-config"), ("secretRef", "herald-secrets")}:
                error(cw, f"envFrom {sorted(refs)}: expected the ConfigMap herald-config and the Secret herald-secrets")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            for pname, number in ports.items():
                if number not in (http_port, metrics_port):
                    error(cw, f"port {pname} is {number}: Herald listens on {http_port} and {metrics_port}")
            if o["kind"] == "Job":
                continue
            expected_port = http_port if component == "api" else metrics_port
            for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
                get = c.get(probe, {}).get("httpGet")
                if not get:
                    error(cw, f"no {probe}")
                    continue
                if get.get("path") != path:
                    error(cw, f"{probe} asks {get.get('path')}, expected {path}")
                port = ports.get(get["port"], get["port"])
                if port != expected_port:
                    error(cw, f"{probe} on port {port}, expected {expected_port}")
            for probe in ("startupProbe",):
                get = c.get(probe, {}).get("httpGet")
                if get and get.get("path") not in PROBES:
                    error(cw, f"{probe} asks {get.get('path')}")

    def selecting(sel: dict) -> list[str]:
        return [n for n, (labels, _) in pods.items() if all(labels.get(k) == v for k, v in sel.items())]

    for f, o in find("Service"):
        w = f"{f}: Service/{o['metadata']['name']}"
        chosen = selecting(o["spec"].get("selector", {}))
        if not chosen:
            error(w, "selects no pod")
        for p in o["spec"].get("ports", []):
            target = p.get("targetPort", p["port"])
            offered = [
                {q["name"]: q["containerPort"] for q in pods[n][1]["containers"][0].get("ports", [])}
                for n in chosen
            ]
            if isinstance(target, str) and not any(target in ports for ports in offered):
                error(w, f"targetPort {target} is a port of none of the pods it selects")
            if isinstance(target, int) and not any(target in ports.values() for ports in offered):
                error(w, f"targetPort {target} is a port of none of the pods it selects")
    for f, o in find("PodDisruptionBudget"):
        chosen = selecting(o["spec"]["selector"]["matchLabels"])
        if len(chosen) != 1:
            error(f"{f}: PodDisruptionBudget/{o['metadata']['name']}", f"selects {chosen}, expected one workload")
    deployments = {o["metadata"]["name"]: o for _, o in find("Deployment")}
    for name in ("herald-api", "herald-worker", "herald-scheduler"):
        if name not in deployments:
            error("deploy/k8s", f"no Deployment {name}")
        if not any(selecting(o["spec"]["selector"]["matchLabels"]) == [name] for _, o in find("PodDisruptionBudget")):
            error("deploy/k8s", f"no PodDisruptionBudget for {name}")
    if not find("Job"):
        error("deploy/k8s", "no migration Job")
    auths = {o["metadata"]["name"]: o for _, o in find("TriggerAuthentication")}
    for f, o in find("ScaledObject"):
        w = f"{f}: ScaledObject/{o['metadata']['name']}"
        target = o["spec"]["scaleTargetRef"]["name"]
        if target not in deployments:
            error(w, f"scales {target}, which is no Deployment")
        elif "replicas" in deployments[target]["spec"]:
            error(w, f"{target} sets replicas, which each apply would reset under KEDA")
        for t in o["spec"]["triggers"]:
            ref = t.get("authenticationRef", {}).get("name")
            if ref not in auths:
                error(w, f"authenticationRef {ref} is no TriggerAuthentication")
                continue
            for s in auths[ref]["spec"].get("secretTargetRef", []):
                if s["key"] not in secret_keys:
                    error(f"TriggerAuthentication/{ref}", f"secret key {s['key']} is not in the Secret template")


# --- systemd ---------------------------------------------------------------------------------------

def check_systemd(known: set[str]) -> None:
    units = {
        "herald-api.service": "api",
        "herald-worker@.service": "worker",
        "herald-scheduler.service": "scheduler",
        "herald-migrate.service": "migrate",
    }
    for unit, sub in units.items():
        path = DEPLOY / "systemd" / unit
        w = rel(path)
        if not path.exists():
            error(w, "missing")
            continue
        parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
        parser.optionxform = str
        parser.read_string(path.read_text())
        s = parser["Service"]
        exec_start = s.get("ExecStart", "")
        m = re.match(r"^/usr/bin/env((?:\s+[A-Z_]+=\S*)*)\s+/usr/local/bin/herald\s+(\w+)$", exec_start)
        if not m or m.group(2) != sub:
            error(w, f"ExecStart {exec_start!r}: expected [/usr/bin/env SETTINGS…] /usr/local/bin/herald {sub}")
        else:
            for name in re.findall(r"([A-Z_]+)=", m.group(1)):
                if name not in known:
                    error(w, f"{name} is not a setting of deploy/.env.example")
            if "HERALD_ENV=production" not in m.group(1):
                error(w, "does not run in production mode")
        if s.get("EnvironmentFile") != "/etc/herald/herald.env":
            error(w, "EnvironmentFile is not /etc/herald/herald.env")
        for key, value in HARDENING.items():
            if s.get(key) != value:
                error(w, f"{key}={s.get(key)!r}, expected {value!r}")
        if sub == "migrate":
            if s.get("Type") != "oneshot":
                error(w, "a migration is a oneshot")
            continue
        if s.get("Restart") != "on-failure":
            error(w, "Restart is not on-failure")
        if s.get("KillSignal") != "SIGTERM":
            error(w, "KillSignal is not SIGTERM")
        if seconds(s.get("TimeoutStopSec", "90s")) <= DRAIN_SECONDS:
            error(w, f"TimeoutStopSec is not above the {DRAIN_SECONDS} s drain")
        after = parser["Unit"].get("After", "")
        if "herald-migrate.service" not in after:
            error(w, "does not start after herald-migrate.service")


def main() -> int:
    known = settings()
    for check in (check_image, check_compose, check_kubernetes, check_systemd):
        try:
            check(known)
        except (KeyError, TypeError, IndexError, ValueError) as e:
            error(check.__name__, f"could not be checked: {e!r}")
    for e in errors:
        print(e)
    print(f"deploy/: image, compose, kubernetes and systemd cross-checks: {'FAILED' if errors else 'ok'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
