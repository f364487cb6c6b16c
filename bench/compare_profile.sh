#!/usr/bin/env bash
# Side-by-side data profiling: `hearth profile` against pandas (bench/profile_pandas.py:
# read_csv, describe, isna().sum(), duplicated().sum()) on the same CSV file of at least 1 GB,
# one after the other. Prints each side's wall time and peak RSS (GNU time) and the ratios.
#
# usage: bench/compare_profile.sh [DATA.csv]
#   Without DATA it writes a 1.1 GB messy file with bench/make_profile_data.py into $TMPDIR
#   (kept for the next run). Needs python3-pandas and GNU time (apt-get install time).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hearth=$here/build/bin/hearth
[ -x "$hearth" ] || { echo "build first: launch/setup.sh" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
data=${1:-${TMPDIR:-/tmp}/hearth-profile-bench.csv}
if [ ! -s "$data" ]; then
  /usr/bin/python3 "$here/bench/make_profile_data.py" "$data" >&2
fi
echo "data: $data ($(du -h "$data" | cut -f1))"
# Read the file once so both sides find it in the page cache.
cat "$data" > /dev/null

measure() {  # prints "seconds peak_kb"
  local log
  log=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$log" "$@" > /dev/null 2>&1
  cat "$log"
  rm -f "$log"
}
read -r h_s h_kb < <(measure "$hearth" profile "$data" --label label --json)
read -r p_s p_kb < <(measure /usr/bin/python3 "$here/bench/profile_pandas.py" "$data")
printf '%-16s %10s %14s\n' side seconds "peak RSS (MB)"
printf '%-16s %10.2f %14.0f\n' "hearth profile" "$h_s" "$((h_kb / 1024))"
printf '%-16s %10.2f %14.0f\n' pandas "$p_s" "$((p_kb / 1024))"
awk -v hs="$h_s" -v ps="$p_s" -v hk="$h_kb" -v pk="$p_kb" \
  'BEGIN { printf "hearth is %.2fx faster, with %.3f of the peak memory (targets: >= 3x, <= 0.2)\n", ps / hs, hk / pk }'
