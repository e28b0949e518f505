#!/usr/bin/env python3
"""Checks docs/architecture.md against `cargo metadata`: the crate-map table must list exactly
each workspace crate's fintra dependencies (normal ones; optional ones with their feature), and
the kernel (fintra-core) must depend on no fintra crate and on nothing outside the list the page
gives. Run by .ci/run; exits 1 with the differences."""
import json
import re
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
meta = json.loads(subprocess.run(
    ["cargo", "metadata", "--format-version", "1", "--no-deps"],
    cwd=root, check=True, capture_output=True, text=True).stdout)
packages = {p["name"]: p for p in meta["packages"]}
doc = (root / "docs" / "architecture.md").read_text()
problems = []

# The table: | `crate` | `dep`, `dep` (feature `x`), … |
table = {}
for line in doc.splitlines():
    m = re.match(r"^\| `([a-z0-9-]+)` \| (.*) \|$", line)
    if m and m.group(1) in packages:
        table[m.group(1)] = set(re.findall(r"`(fintra-[a-z0-9-]+|examples)`", m.group(2)))

for name, package in sorted(packages.items()):
    actual = {d["name"] for d in package["dependencies"]
              if d["kind"] is None and d["name"] in packages}
    if name not in table:
        problems.append(f"{name} is missing from the crate-map table in docs/architecture.md")
    elif table[name] != actual:
        problems.append(f"{name}: the page says {sorted(table[name])}, cargo says {sorted(actual)}")

kernel = packages["fintra-core"]
kernel_deps = {d["name"] for d in kernel["dependencies"] if d["kind"] is None}
if kernel_deps & set(packages):
    problems.append(f"fintra-core depends on fintra crates: {sorted(kernel_deps & set(packages))}")
m = re.search(r"Kernel dependencies \([^)]*\): (.*?)\. No", doc, re.S)
listed = set(re.findall(r"`([a-z0-9_-]+)`", m.group(1))) if m else set()
if not m:
    problems.append("docs/architecture.md has no 'Kernel dependencies (…): …. No' sentence")
elif listed != kernel_deps:
    problems.append(f"kernel dependencies: the page lists {sorted(listed)}, "
                    f"cargo says {sorted(kernel_deps)}")

if problems:
    print("check-architecture: docs/architecture.md disagrees with cargo metadata:")
    for p in problems:
        print(f"  - {p}")
    sys.exit(1)
print(f"check-architecture: {len(packages)} crates match docs/architecture.md; "
      f"the kernel depends on {len(kernel_deps)} crates and no fintra crate")
