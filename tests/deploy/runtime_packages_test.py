#!/usr/bin/python3
"""The runtime image's package list covers exactly what the binaries link.

deploy/Dockerfile installs deploy/runtime-packages.txt into debian:12-slim.
No Docker engine runs in CI, so the image is not built here; instead this test
takes every shared library `ldd` lists for the built context_service,
routing_service and notify_service, asks `dpkg -S` which Debian package ships
it, and fails when a package is missing from the list (the image would not
start) or when the list names a package no binary needs (the image should
carry only what the binaries need), except those marked `# data:`.

Environment: CXP_BINARY_DIR (the build tree), CXP_SOURCE_DIR (the repository).
Exit 77 (ctest: skipped) only when the binaries are not built.
"""
import os
import re
import subprocess
import sys

SOURCE_DIR = os.environ.get("CXP_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY_DIR = os.environ.get("CXP_BINARY_DIR", os.path.join(SOURCE_DIR, "build"))
SERVICES = ["context_service", "routing_service", "notify_service"]
PACKAGE_LIST = os.path.join(SOURCE_DIR, "deploy", "runtime-packages.txt")
DOCKERFILE = os.path.join(SOURCE_DIR, "deploy", "Dockerfile")


def read_package_list(path):
    """Returns (library packages, data packages) in file order."""
    libraries, data = [], []
    previous_comment = ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("#"):
                previous_comment = line
                continue
            name = line.split("#", 1)[0].strip()
            if not name:
                continue
            (data if previous_comment.startswith("# data:") else libraries).append(name)
            previous_comment = ""
    return libraries, data


def check_dockerfile(problems):
    """The runtime stage is debian:12-slim, installs the list, runs non-root."""
    with open(DOCKERFILE, encoding="utf-8") as f:
        text = f.read()
    stages = re.split(r"(?m)^FROM\s+", text)[1:]
    if len(stages) < 2:
        problems.append("deploy/Dockerfile: want a multi-stage build (builder + runtime)")
        return
    runtime = stages[-1]
    if not runtime.startswith("debian:12-slim"):
        problems.append("deploy/Dockerfile: the last (runtime) stage is not FROM debian:12-slim")
    if "COPY deploy/runtime-packages.txt" not in runtime or "apt-get install" not in runtime:
        problems.append("deploy/Dockerfile: the runtime stage does not install deploy/runtime-packages.txt")
    users = re.findall(r"(?m)^USER\s+(\S+)", runtime)
    if not users or users[-1].split(":")[0] in ("0", "root") or not users[-1].split(":")[0].isdigit():
        problems.append("deploy/Dockerfile: the runtime stage must end with a numeric non-root USER")
    if not stages[0].startswith("debian:12 ") and not stages[0].startswith("debian:12\n"):
        problems.append("deploy/Dockerfile: the builder stage is not FROM debian:12")
    if "scripts/install_deps.sh" not in stages[0]:
        problems.append("deploy/Dockerfile: the builder stage does not run scripts/install_deps.sh")


def linked_libraries(binary, problems):
    """Absolute paths of every shared library ldd resolves for binary."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = []
    for line in out.splitlines():
        line = line.strip()
        if "not found" in line:
            problems.append(f"{binary}: ldd: {line}")
            continue
        match = re.match(r"^(\S+)\s+=>\s+(/\S+)", line) or re.match(r"^(/\S+)\s+\(", line)
        if match:
            paths.append(match.group(match.lastindex))
    return paths


def spellings(path):
    """path as dpkg may have recorded it: as given, resolved, and usr-merged."""
    candidates = [path, os.path.realpath(path)]
    for candidate in list(candidates):
        candidates.append(candidate[len("/usr"):] if candidate.startswith("/usr/") else "/usr" + candidate)
    return list(dict.fromkeys(candidates))


def owning_packages(paths):
    """{path: [Debian packages shipping it]}, from one `dpkg -S` call; absent
    paths are left out."""
    candidates = sorted({c for path in paths for c in spellings(path)})
    # Exit status 1 only says some spellings are unknown, as expected.
    out = subprocess.run(["dpkg", "-S", *candidates], capture_output=True, text=True).stdout
    shipped = {}
    for line in out.splitlines():
        owners, _, file = line.rpartition(": ")
        if file in candidates:
            shipped[file] = [owner.split(":")[0].strip() for owner in owners.split(",")]
    result = {}
    for path in paths:
        for candidate in spellings(path):
            if candidate in shipped:
                result[path] = shipped[candidate]
                break
    return result


def main():
    binaries = [os.path.join(BINARY_DIR, name, name) for name in SERVICES]
    absent = [b for b in binaries if not os.access(b, os.X_OK)]
    if absent:
        print(f"SKIPPED: service binaries not built ({', '.join(absent)}); build them first")
        return 77

    problems = []
    check_dockerfile(problems)
    listed, data = read_package_list(PACKAGE_LIST)
    linked_by = {}  # library path -> the first binary linking it
    for binary in binaries:
        for library in linked_libraries(binary, problems):
            linked_by.setdefault(library, os.path.basename(binary))
    owners = owning_packages(list(linked_by))
    needed = {}  # package -> one library that needs it
    for library, binary in sorted(linked_by.items()):
        if library not in owners:
            problems.append(f"{library} (linked by {binary}) belongs to no Debian package")
            continue
        for owner in owners[library]:
            needed.setdefault(owner, f"{library} ({binary})")

    for package, why in sorted(needed.items()):
        if package not in listed:
            problems.append(f"missing from deploy/runtime-packages.txt: {package} ships {why}")
    for package in listed:
        if package not in needed:
            problems.append(f"deploy/runtime-packages.txt lists {package}, which ships no library the binaries link "
                            "(remove it, or mark it `# data:` if it is runtime data)")
    for package in data:
        if subprocess.run(["apt-cache", "show", package], capture_output=True).returncode != 0 and \
                subprocess.run(["dpkg", "-s", package], capture_output=True).returncode != 0:
            problems.append(f"deploy/runtime-packages.txt: data package {package} is unknown to apt and dpkg")

    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print(f"runtime_packages: {len(needed)} packages ship the libraries of {', '.join(SERVICES)}; "
          f"{len(listed)} library + {len(data)} data packages listed; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
