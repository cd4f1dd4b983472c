"""``chat-smoke init``, per platform: what it writes parses (YAML files load and have the
platform's shape; GitHub's workflow passes actionlint; chat-smoke.yml loads with the
program's own loader and schema), it never overwrites, and the next steps it prints run:
the local try against the stub passes with the config file it wrote."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from smoke import scaffold
from smoke.config.load import load as load_settings
from smoke.stub import StubServer
from tests.support.env import scrubbed

PLATFORMS = sorted(scaffold.PLATFORMS)


def init(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smoke", "init", "--dir", str(folder), *args],
                          capture_output=True, text=True, timeout=60, env=scrubbed())


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


def _check_github(path: Path) -> None:
    workflow = _yaml(path)
    step = next(s for s in workflow["jobs"]["gate"]["steps"] if s.get("id") == "gate")
    assert step["uses"].startswith("chat-smoke/chat-smoke@v")
    assert step["with"]["api-key"] == "${{ secrets.COMETAPI_API_KEY }}"
    actionlint = shutil.which("actionlint", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert actionlint, "actionlint is missing: pip install -e '.[test]'"
    done = subprocess.run([actionlint, "-no-color", "-oneline", str(path)], capture_output=True,
                          text=True, timeout=120, cwd=path.parents[2])
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def _check_gitlab(path: Path) -> None:
    job = _yaml(path)["chat-smoke"]
    assert job["image"]["entrypoint"] == [""] and job["artifacts"]["when"] == "always"
    assert set(job["artifacts"]["reports"]) == {"junit", "dotenv"}
    assert job["script"][0].startswith("chat-smoke run --config chat-smoke.yml")


def _check_azure(path: Path) -> None:
    pipeline = _yaml(path)
    job = pipeline["jobs"][0]
    assert pipeline["resources"]["containers"][0]["options"] == '--entrypoint ""'
    script = job["steps"][0]
    assert script["script"].startswith("chat-smoke run")
    assert script["env"] == {"COMETAPI_API_KEY": "$(COMETAPI_API_KEY)"}
    assert job["steps"][1]["condition"] == "succeededOrFailed()"


def _check_jenkins(path: Path) -> None:
    # No Groovy parser here: the declarative skeleton, balanced braces and quotes, and the
    # key from a file credential (never on a command line).
    text = path.read_text("utf-8")
    code = re.sub(r"//[^\n]*", "", text)
    assert code.count("{") == code.count("}") and code.count("(") == code.count(")")
    assert all(line.count("'") % 2 == 0 for line in code.splitlines())
    assert code.lstrip().startswith("pipeline {")
    assert "withCredentials([file(credentialsId: 'cometapi-api-key-file'" in code
    assert "sh 'chat-smoke run --config chat-smoke.yml --api-key-file \"$KEY_FILE\"" in code


def _check_buildkite(path: Path) -> None:
    step = _yaml(path)["steps"][0]
    assert step["command"].startswith("chat-smoke run")
    plugin = step["plugins"][0]
    (name, options), = plugin.items()
    assert name.startswith("docker#v") and options["environment"] == ["COMETAPI_API_KEY"]


def _check_circleci(path: Path) -> None:
    config = _yaml(path)
    assert config["version"] == 2.1
    steps = config["jobs"]["chat-smoke"]["steps"]
    assert steps[0]["run"]["command"].startswith("chat-smoke run")
    assert steps[1]["store_test_results"]["when"] == "always"
    assert config["workflows"]["gate"]["jobs"] == ["chat-smoke"]


def _check_bitbucket(path: Path) -> None:
    step = _yaml(path)["pipelines"]["default"][0]["step"]
    assert step["script"][0].startswith("chat-smoke run")
    assert "chat-smoke-reports/**" in step["artifacts"]


CHECKS = {"github": _check_github, "gitlab": _check_gitlab, "azure": _check_azure,
          "jenkins": _check_jenkins, "buildkite": _check_buildkite,
          "circleci": _check_circleci, "bitbucket": _check_bitbucket}


def test_every_platform_has_a_check() -> None:
    assert set(CHECKS) == set(PLATFORMS)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_init_writes_files_that_parse(platform: str, tmp_path: Path) -> None:
    done = init(tmp_path, "--ci", platform, "--model", "gpt-5-mini",
                "--environment", "staging")
    assert done.returncode == 0, done.stderr
    path = scaffold.PLATFORMS[platform].path
    assert f"wrote {path}" in done.stdout and "wrote chat-smoke.yml" in done.stdout
    CHECKS[platform](tmp_path / path)
    text = (tmp_path / path).read_text("utf-8")
    assert "@@" not in text and "<owner>" not in text
    assert "COMETAPI_API_KEY" in done.stdout or "cometapi-api-key-file" in done.stdout
    settings = load_settings({}, {"COMETAPI_API_KEY": "sk-x"}, tmp_path)
    assert settings.models == ("gpt-5-mini",) and settings.environment == "staging"
    assert settings.config_file and settings.config_file.endswith("chat-smoke.yml")
    page = scaffold.PLATFORMS[platform].page
    assert f"More: {scaffold.DOCS}{page}" in done.stdout
    assert (Path(__file__).resolve().parents[1] / "docs" / page).is_file()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_init_never_overwrites(platform: str, tmp_path: Path) -> None:
    usual = tmp_path / scaffold.PLATFORMS[platform].path
    usual.parent.mkdir(parents=True, exist_ok=True)
    usual.write_text("# the team's own pipeline\n", "utf-8")
    (tmp_path / "chat-smoke.yml").write_text("model: mine\n", "utf-8")
    done = init(tmp_path, "--ci", platform)
    assert done.returncode == 0, done.stderr
    assert usual.read_text("utf-8") == "# the team's own pipeline\n"
    assert (tmp_path / "chat-smoke.yml").read_text("utf-8") == "model: mine\n"
    alternate = scaffold.PLATFORMS[platform].alternate
    assert f"kept {scaffold.PLATFORMS[platform].path} (it exists; not overwritten)" \
        in done.stdout
    assert f"wrote {alternate}" in done.stdout and (tmp_path / alternate).is_file()
    CHECKS[platform](tmp_path / alternate)
    again = init(tmp_path, "--ci", platform)  # a second run writes nothing at all
    assert "wrote" not in again.stdout and again.returncode == 0
    assert (tmp_path / alternate).read_text("utf-8") == \
        scaffold.render(scaffold.PLATFORMS[platform].template,
                        {"model": "gpt-4o-mini", "environment": "production",
                         "version": scaffold.__version__,
                         "major": scaffold.__version__.split(".")[0], "base_url_line": ""})


@pytest.mark.parametrize(("marker", "platform"), [
    (".gitlab-ci.yml", "gitlab"), ("Jenkinsfile", "jenkins"), (".circleci/", "circleci"),
    (".github/", "github"), ("bitbucket-pipelines.yml", "bitbucket"),
])
def test_init_detects_the_platform_from_the_folder(marker: str, platform: str,
                                                   tmp_path: Path) -> None:
    if marker.endswith("/"):
        (tmp_path / marker).mkdir()
    else:
        (tmp_path / marker).write_text("# existing\n")
    done = init(tmp_path)
    assert done.returncode == 0 and f"chat-smoke init ({platform})" in done.stdout, done.stdout


def test_init_detects_the_platform_from_the_git_remote(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin",
                    "git@gitlab.example.com:acme/shop.git"], check=True, timeout=30)
    assert "chat-smoke init (gitlab)" in init(tmp_path).stdout


def test_init_with_nothing_to_detect_writes_only_the_config(tmp_path: Path) -> None:
    done = init(tmp_path)
    assert done.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat-smoke.yml"]
    assert "chat-smoke init --ci github" in done.stdout


def test_a_bad_value_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    done = init(tmp_path, "--ci", "github", "--model", "gpt 4o\nmalicious: true")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "--model" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_printed_local_try_passes_against_the_stub(tmp_path: Path) -> None:
    done = init(tmp_path, "--ci", "github")
    lines = done.stdout.splitlines()
    run_line = next(line.strip() for line in lines if "chat-smoke run --config" in line)
    key, _, command = run_line.partition(" ")
    assert key == f"COMETAPI_API_KEY={scaffold.STUB_KEY}"
    assert "chat-smoke stub &" in done.stdout
    with StubServer(key=scaffold.STUB_KEY) as stub:
        argv = command.split()
        assert argv[:2] == ["chat-smoke", "run"]
        argv = [a.replace("http://127.0.0.1:8765/v1", stub.url()) for a in argv[2:]]
        run = subprocess.run([sys.executable, "-m", "smoke", "run", *argv], cwd=tmp_path,
                             env=scrubbed(COMETAPI_API_KEY=scaffold.STUB_KEY),
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "chat-smoke: PASS" in run.stdout
