"""Shared helper for the bench/ scripts: a private virtualenv with the reference libraries.

The scripts never touch the project's tests or CI. They create `bench/.venv` on first use
(or reuse the interpreter named by REPRO_VENV, a virtualenv folder) and re-run themselves in it.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIREMENTS = ["torch==2.15.0", "numpy==2.4.6"]


def ensure_venv(extra=()):
    """Re-executes the calling script inside a virtualenv that has the requirements."""
    venv = os.environ.get("REPRO_VENV") or os.path.join(HERE, ".venv")
    python = os.path.join(venv, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        return
    if not os.path.exists(python):
        print(f"creating virtualenv {venv} (one-off; downloads torch)", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([python, "-m", "pip", "install", "-q", *REQUIREMENTS, *extra])
    os.execv(python, [python, *sys.argv])


def build_swift_bench():
    """Builds the repro-rng-bench executable in release mode and returns its path."""
    pkg = os.path.join(HERE, "..", "Benchmarks")
    subprocess.check_call(["swift", "build", "-c", "release", "--product", "repro-rng-bench"], cwd=pkg,
                          stdout=sys.stderr)
    out = subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=pkg, text=True)
    return os.path.join(out.strip(), "repro-rng-bench")
