"""The distribution a user gets from PyPI: built from the checkout, installed elsewhere.

The sdist and the wheel are built with ``python -m build`` (what release.yml runs),
checked with ``twine check --strict`` (what PyPI's upload would refuse), and the wheel is
installed into a fresh venv in a temporary folder, away from the checkout, so nothing can
be imported from the source tree. From there ``chat-smoke demo`` runs, the library runs
with a config file (the schema validates it) and writes every report (the summary
templates render), and the package data is compared with the repository's: every schema,
every template and ``py.typed`` ship. The release job and ci.yml's ``wheel`` job do the
same on GitHub.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.env import NETWORK, scrubbed

REPO = Path(__file__).resolve().parents[1]

# What must be in the wheel: every data file of the package in the checkout.
PACKAGE_DATA = sorted(
    str(p.relative_to(REPO)).replace(os.sep, "/")
    for pattern in ("smoke/schema/*.json", "smoke/py.typed",
                    "smoke/reports/summary/templates/*", "smoke/scaffold/templates/*")
    for p in REPO.glob(pattern)
    if p.is_file() and "__pycache__" not in p.parts
)


def _clean_env(tmp: Path) -> dict[str, str]:
    """The environment without anything that points back into the checkout, scrubbed (the
    demo is run as a user would, not as a CI platform); the network settings stay for pip."""
    env = {k: v for k, v in scrubbed(keep=NETWORK).items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP"}}
    env["HOME"] = str(tmp / "home")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float
         ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel built from the checkout, as release.yml and ci.yml build them."""
    out = tmp_path_factory.mktemp("dist")
    # From a copy of the tree, as release.yml builds from a fresh checkout: setuptools
    # assembles the sdist in a chat_smoke-<version>/ folder in the current directory and
    # removes it afterwards, and reads a stale egg-info's SOURCES.txt, so a build in the
    # checkout races any other build there and ships whatever an earlier one listed.
    source = tmp_path_factory.mktemp("source") / "chat-smoke"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "*.egg-info", "build", "dist", "chat_smoke-*", "__pycache__",
        ".*_cache", "node_modules", "site"))
    # No --sdist/--wheel: build makes the sdist, then the wheel from the unpacked sdist,
    # so a file the sdist leaves out is missing from the wheel too.
    done = _run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], source,
                dict(os.environ), 600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A fresh venv outside the checkout with the wheel (and its dependencies) installed;
    returns (its bin folder, a working folder outside the checkout)."""
    root = tmp_path_factory.mktemp("fresh")
    (root / "home").mkdir()
    env = _clean_env(root)
    done = _run([sys.executable, "-m", "venv", str(root / "venv")], root, env, 120)
    assert done.returncode == 0, done.stderr
    bindir = root / "venv" / ("Scripts" if os.name == "nt" else "bin")
    wheel = next(dist.glob("*.whl"))
    done = _run([str(bindir / "python"), "-m", "pip", "install", "-q", str(wheel)], root, env,
                600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    work = root / "work"
    work.mkdir()
    return bindir, work


def test_twine_check_strict_accepts_both(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    assert sorted(Path(f).suffix for f in files) == [".gz", ".whl"], files
    done = _run([sys.executable, "-m", "twine", "check", "--strict", *files], REPO,
                dict(os.environ), 120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_the_wheel_holds_every_schema_template_and_py_typed(dist: Path) -> None:
    assert "smoke/schema/chat-smoke.schema.json" in PACKAGE_DATA
    assert "smoke/py.typed" in PACKAGE_DATA
    assert any(name.endswith(".j2") for name in PACKAGE_DATA)
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as wheel:
        names = set(wheel.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = wheel.read(entry_points).decode()
    assert [name for name in PACKAGE_DATA if name not in names] == []
    assert "chat-smoke = smoke.cli:main" in scripts
    assert not any(name.startswith("tests/") for name in names)


def test_the_installed_wheel_runs_the_demo_outside_the_checkout(venv: tuple[Path, Path]
                                                                ) -> None:
    bindir, work = venv
    env = _clean_env(work.parent)
    done = _run([str(bindir / "chat-smoke"), "demo"], work, env, 120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "chat-smoke: PASS" in done.stdout
    assert "FAIL [auth] exit 3" in done.stdout
    assert "both runs behaved as a release gate should" in done.stdout


def test_the_installed_library_runs_with_a_config_file_and_writes_every_report(
        venv: tuple[Path, Path]) -> None:
    bindir, work = venv
    env = _clean_env(work.parent)
    script = (
        "import pathlib, smoke, smoke.stub as s\n"
        "assert smoke.run\n"
        "here = pathlib.Path(smoke.__file__).parent\n"
        "print('FROM', here)\n"
        "print('TYPED', (here / 'py.typed').is_file())\n"
        "with s.StubServer(key='sk-wheel-test-0123456789') as stub:\n"
        "    pathlib.Path('chat-smoke.yml').write_text(\n"
        "        f'base_url: {stub.url()}\\nmodel: stub-model\\nenvironment: wheel\\n')\n"
        "    r = smoke.run(env={'COMETAPI_API_KEY': 'sk-wheel-test-0123456789'},\n"
        "                  summary='out/summary.md', report_json='out/report.json',\n"
        "                  report_junit='out/junit.xml')\n"
        "print('VERDICT', r.verdict, r.exit_code)\n"
        "bad = smoke.run(env={'COMETAPI_API_KEY': 'x'}, config='bad.yml')\n"
        "print('BAD', bad.exit_code, bad.checks[0].message)\n"
    )
    (work / "bad.yml").write_text("model: m\ntimeout: -1\n", encoding="utf-8")
    done = _run([str(bindir / "python"), "-c", script], work, env, 120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert Path(lines["FROM"]).is_relative_to(work.parent / "venv"), lines["FROM"]
    assert lines["TYPED"] == "True"
    assert lines["VERDICT"] == "pass 0"
    # The schema shipped: the bad value is named from it, exit 2.
    assert lines["BAD"].startswith("2 ") and "timeout" in lines["BAD"], lines["BAD"]
    summary = (work / "out" / "summary.md").read_text("utf-8")
    assert "wheel" in summary and "PASS" in summary.upper()
    assert (work / "out" / "report.json").is_file()
    assert "<testsuite" in (work / "out" / "junit.xml").read_text("utf-8")
