#!/usr/bin/env bash
# Run OpenStack's Tempest against a running Nimbus (`make up`), in its own venv.
#
#   tools/tempest/run.sh [identity|image|...] [extra `tempest run` arguments]
#
# NIMBUS_PORT, NIMBUS_STATE_DIR and NIMBUS_FAKE_HOSTS say which cloud (as for `make up`).
# Tests that need something Nimbus does not offer are listed, with the reason, in tools/tempest/<api>-exclude.txt.
# The services an API's tests need are marked available in [service_available]; the others stay
# off, so Tempest skips what depends on them.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
api=${1:-identity}
shift || true

port=${NIMBUS_PORT:-8080}
state=$(realpath "${NIMBUS_STATE_DIR:-.nimbus}")
url="http://127.0.0.1:$port"
venv=$root/.venv-tempest
workspace=$state/tempest

if [ ! -x "$venv/bin/tempest" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "tempest==$(cat tools/tempest/VERSION)"
fi
curl -fsS "$url/identity/v3" >/dev/null || { echo "no cloud answers at $url: run make up" >&2; exit 1; }
admin_password=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_password"])' \
    "$state/secrets.json")

# Tempest names workspaces in ~/.tempest/workspace.yaml and refuses a second one named alike
# (saying so on stdout): name each after its path. A state dir deleted and made again at the
# same path left its name registered, and the first run after failed silently: drop it first.
if [ ! -d "$workspace" ]; then
    name="nimbus-$(printf %s "$workspace" | md5sum | cut -c1-12)"
    "$venv/bin/tempest" workspace remove --name "$name" >/dev/null 2>&1 || true
    "$venv/bin/tempest" init --name "$name" "$workspace" >/dev/null
fi
case $api in
    image) services=(glance) ;;
    compute) services=(nova glance neutron) ;;
    network) services=(neutron) ;;
    volume) services=(cinder glance neutron nova) ;;
    *) services=() ;;
esac
available=()
for service in "${services[@]}"; do available+=(-e "s|^$service = false\$|$service = true|"); done
# Compute tests boot two public images (DevStack's CirrOS), volume tests make volumes of them;
# other APIs' runs leave them unset.
images=("" "")
[ "$api" = compute ] || [ "$api" = volume ] && read -ra images < <(python3 tools/tempest/images.py "$url" "$admin_password")
# Router and floating IP tests need an external network, as DevStack's `public`; compute's
# auto-allocated network tests (2.37 `networks: auto`) need it as the default external network.
public_network=""
if [ "$api" = network ]; then
    public_network=$(python3 tools/tempest/public_network.py "$url" "$admin_password")
    available+=(-e "s|^floating_ips = false\$|floating_ips = true|")
elif [ "$api" = compute ]; then
    python3 tools/tempest/public_network.py "$url" "$admin_password" >/dev/null
fi
network_extensions=$(python3 tools/tempest/network_extensions.py "$url" "$admin_password")
sed -e "s|@URL@|$url|g" -e "s|@ADMIN_PASSWORD@|$admin_password|g" -e "s|@LOG_DIR@|$workspace/logs|g" \
    -e "s|@IMAGE_REF@|${images[0]}|g" -e "s|@IMAGE_REF_ALT@|${images[1]}|g" \
    -e "s|@COMPUTE_NODES@|${NIMBUS_FAKE_HOSTS:-1}|g" \
    -e "s|@PUBLIC_NETWORK_ID@|$public_network|g" \
    -e "s|@NETWORK_EXTENSIONS@|$network_extensions|g" \
    "${available[@]}" tools/tempest/tempest.conf.in >"$workspace/etc/tempest.conf"

exclude=$root/tools/tempest/$api-exclude.txt
args=(--regex "^tempest\.api\.$api\.")
[ -f "$exclude" ] && args+=(--exclude-list "$exclude")
cd "$workspace"
exec "$venv/bin/tempest" run --concurrency "${TEMPEST_CONCURRENCY:-2}" "${args[@]}" "$@"
