#!/bin/sh
# Write the two HTML reports for the sample machines into OUTDIR (default: a new temporary folder):
#   machine.html  one machine (Windows Server 2008 R2, untouched) with a planned .reg change on top (what-if)
#   fleet.html    every sample machine, one row each
# Needs regtls with its html extra: pip install -e '.[html]'. Exit codes are regtls's (1: findings).
set -u
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
regtls check samples/server2008r2-sp1-untouched/SYSTEM samples/server2008r2-sp1-untouched/SOFTWARE \
    samples/reg/tls12-complete.reg --format html --output "$out/machine.html"
regtls scan samples --format html --output "$out/fleet.html"
echo "open $out/machine.html and $out/fleet.html in a browser" >&2
