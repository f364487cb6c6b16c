#!/usr/bin/env bash
# Validates docker-compose.yml without a container engine: `docker-compose config` must accept
# and normalise it, and the normalised file must keep the cluster's contract: services
# coordinator, worker and fetch-mnist, running launch/cluster-entrypoint.sh's modes; the
# coordinator's port published on loopback only; healthchecks on coordinator and worker; the
# shared named volumes; the token as a secret. Exits 77 (CTest skip) without docker-compose.
#
# usage: tests/compose/compose_config_test.sh SOURCE_DIR [BUILD_DIR]
set -uo pipefail
src=$(cd "${1:?usage: compose_config_test.sh SOURCE_DIR [BUILD_DIR]}" && pwd) || exit 1
cd "$src" || exit 1

if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "SKIP: docker-compose is not installed (apt-get install docker-compose; launch/setup.sh --deps-only)"
  exit 77
fi
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml is missing (it comes with docker-compose)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "test-token-0123456789abcdef" >"$tmp/token"
# Interpolated variables at their defaults, except the token file, which must not be the user's.
unset HEARTH_WORKERS HEARTH_SUBNET HEARTH_IMAGE
export HEARTH_TOKEN_FILE_HOST=$tmp/token
if ! "${compose[@]}" -f docker-compose.yml --profile tools config >"$tmp/config.yml" 2>"$tmp/err"; then
  echo "FAIL: ${compose[*]} config rejected docker-compose.yml:"
  cat "$tmp/err"
  exit 1
fi

python3 - "$tmp/config.yml" "$src" <<'PY'
import os, sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
src = sys.argv[2]
failures = []
def check(ok, what):
    if not ok:
        failures.append(what)

services = cfg.get("services", {})
for name in ("coordinator", "worker", "fetch-mnist"):
    check(name in services, f"service '{name}' is missing")
coord, worker, fetch = (services.get(n, {}) for n in ("coordinator", "worker", "fetch-mnist"))

# Each service runs one of cluster-entrypoint.sh's modes.
modes = set(open(os.path.join(src, "launch/cluster-entrypoint.sh")).read().split("case \"${1:-}\" in")[-1].split())
for name, svc, mode in (("coordinator", coord, "coordinator"), ("worker", worker, "worker"),
                        ("fetch-mnist", fetch, "fetch-mnist")):
    check(svc.get("command") == [mode], f"{name} should run command [{mode}], not {svc.get('command')}")
    check(f"{mode})" in modes, f"cluster-entrypoint.sh has no mode '{mode}'")

# The coordinator's ports: gRPC (7411) and the deployed models' HTTP (7412), on loopback only.
ports = coord.get("ports", [])
targets = []
for p in ports:
    if isinstance(p, dict):
        check(p.get("host_ip") == "127.0.0.1", f"coordinator port {p} is not bound to 127.0.0.1")
        targets.append(str(p.get("target")))
    else:
        check(str(p).startswith("127.0.0.1:"), f"coordinator port '{p}' is not bound to 127.0.0.1")
        targets.append(str(p).split(":")[2].split("/")[0])
check(sorted(targets) == ["7411", "7412"],
      f"coordinator should publish 7411 (gRPC) and 7412 (models), not {ports}")
for name, svc in services.items():
    if name != "coordinator":
        check(not svc.get("ports"), f"service {name} publishes ports {svc.get('ports')}: only the coordinator may")

# Healthchecks.
for name, svc in (("coordinator", coord), ("worker", worker)):
    hc = svc.get("healthcheck", {})
    check(bool(hc.get("test")) and not hc.get("disable"), f"{name} has no healthcheck")
check("hearth" in " ".join(coord.get("healthcheck", {}).get("test", [])), "coordinator healthcheck should call hearth")
check("2222" in " ".join(worker.get("healthcheck", {}).get("test", [])), "worker healthcheck should probe sshd's port 2222")

# Named volumes, mounted where the entrypoint expects them.
volumes = cfg.get("volumes", {}) or {}
for v in ("datasets", "shared", "coordinator-state"):
    check(v in volumes, f"named volume '{v}' is missing")
def mounts(svc):
    out = {}
    for m in svc.get("volumes", []):
        if isinstance(m, dict):
            out[m.get("target")] = m.get("source")
        else:
            parts = str(m).split(":")
            out[parts[1]] = parts[0]
    return out
for name, svc in (("coordinator", coord), ("worker", worker)):
    m = mounts(svc)
    check(m.get("/data") == "datasets", f"{name} should mount volume datasets at /data")
    check(m.get("/shared") == "shared", f"{name} should mount volume shared at /shared")
check(mounts(coord).get("/var/lib/hearth") == "coordinator-state", "coordinator should mount coordinator-state at /var/lib/hearth")
# Ranks' logs reach hearthd through mpirun's output: workers need none of its state.
check("/var/lib/hearth" not in mounts(worker), "workers should not mount hearthd's state")
check(mounts(fetch).get("/data") == "datasets", "fetch-mnist should mount datasets at /data")

# The token: a secret of the coordinator only (workers authenticate with per-attempt secrets).
check("hearth_token" in (cfg.get("secrets") or {}), "secret hearth_token is missing")
secret_names = lambda svc: [s["source"] if isinstance(s, dict) else s for s in svc.get("secrets", [])]
check("hearth_token" in secret_names(coord), "coordinator does not get the hearth_token secret")
check("hearth_token" not in secret_names(worker), "workers must not hold the user token")
check(coord.get("environment", {}).get("HEARTH_TOKEN_FILE") == "/run/secrets/hearth_token",
      "coordinator: HEARTH_TOKEN_FILE should be /run/secrets/hearth_token")
check("--ca" in coord.get("healthcheck", {}).get("test", []), "the coordinator's healthcheck should use TLS (--ca)")
for name, svc in (("coordinator", coord), ("worker", worker)):
    env = svc.get("environment", {})
    check(env.get("HEARTH_NET") == "172.30.77.0/24", f"{name}: HEARTH_NET should be the network's subnet")

# One-shot fetch-mnist behind a profile; the long-running services restart.
check("tools" in (fetch.get("profiles") or []), "fetch-mnist should be behind the 'tools' profile")
check(str(fetch.get("restart", "no")) == "no", "fetch-mnist must not restart")
check(str(worker.get("scale", 1)) == "3", "worker should default to 3 replicas")
subnets = [c.get("subnet") for c in cfg.get("networks", {}).get("hearth", {}).get("ipam", {}).get("config", [])]
check(subnets == ["172.30.77.0/24"], f"network hearth should have subnet 172.30.77.0/24, not {subnets}")
# The image is built from docker/Dockerfile, which exists.
check(coord.get("build", {}).get("dockerfile") == "docker/Dockerfile", "coordinator should build docker/Dockerfile")
check(os.path.isfile(os.path.join(src, "docker/Dockerfile")), "docker/Dockerfile is missing")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
PY
rc=$?
[ "$rc" = 0 ] && echo "PASS: compose_config_test"
exit "$rc"
