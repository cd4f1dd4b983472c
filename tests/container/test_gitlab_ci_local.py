"""The GitLab component (templates/chat-smoke.yml) and the example pipeline
(examples/gitlab-ci.yml) run by a real GitLab pipeline runner: ``gitlab-ci-local`` (npm),
which parses ``.gitlab-ci.yml`` as GitLab does (includes with ``inputs:``, ``spec:``
interpolation, its JSON schema), runs each job in the job's image on the suite's engine,
collects ``artifacts:`` and hands a job's ``reports: dotenv`` to the jobs that need it.

The job reaches the stub on the host's loopback (``--network host``). gitlab-ci-local
copies the project in and the artifacts out through a helper image with bash and rsync;
its default (firecow/gitlab-ci-local-util) is on Docker Hub, which this machine cannot
reach, so the suite builds one from the Dockerfile's base with Debian's rsync.

``include: component:`` itself needs a GitLab instance (the catalog's
``$CI_SERVER_FQDN/<project>/<component>@<version>``); here the same file is included with
``include: local:`` and the same ``inputs:``, which GitLab interpolates the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from smoke.stub import StubServer
from tests.support.cli import KEY
from tests.support.container import IN_CI, REPO, Engine, Image

VERSION = "4.70.1"  # gitlab-ci-local; 4.70 runs on Node 18 and 20
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chat-smoke"
HELPER = "localhost/chat-smoke-gcl-helper:bookworm"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"gitlab-ci-local: {reason} (CI is set: this test must run)", pytrace=False)
    pytest.skip(f"gitlab-ci-local: {reason}")


def _apt(*packages: str) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        _unavailable(f"{', '.join(packages)} missing; apt-get install them as root")
    done = subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq",
         "--no-install-recommends", *packages], capture_output=True, text=True, timeout=900,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if done.returncode != 0:
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-qq"],
                       capture_output=True, timeout=900)
        done = subprocess.run(
            ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq",
             "--no-install-recommends", *packages], capture_output=True, text=True,
            timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if done.returncode != 0:
        _unavailable(f"apt-get install {' '.join(packages)} failed: {done.stderr[-500:]}")


@pytest.fixture(scope="module")
def gitlab_ci_local() -> Path:
    """The gitlab-ci-local command, installed once from npm into the shared cache (it
    needs git and rsync on the host too)."""
    if shutil.which("rsync") is None:
        _apt("rsync")
    if shutil.which("node") is None or shutil.which("npm") is None:
        _apt("nodejs", "npm")
    folder = CACHE / f"gitlab-ci-local-{VERSION}"
    command = folder / "node_modules" / ".bin" / "gitlab-ci-local"
    if not command.exists():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", str(folder),
             f"gitlab-ci-local@{VERSION}"], capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not command.exists():
            _unavailable(f"npm install gitlab-ci-local@{VERSION} failed: {done.stderr[-800:]}")
    return command


@pytest.fixture(scope="module")
def helper(engine: Engine, image: Image, tmp_path_factory: pytest.TempPathFactory) -> str:
    """gitlab-ci-local's helper image (bash, rsync, chown), from the Dockerfile's base."""
    if engine.cmd("image", "inspect", HELPER).returncode == 0:
        return HELPER
    base = image.base if "/" in image.base.split(":")[0] else f"docker.io/library/{image.base}"
    folder = tmp_path_factory.mktemp("helper")
    (folder / "Dockerfile").write_text(
        f"FROM {base}\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends rsync "
        "&& rm -rf /var/lib/apt/lists/*\n", "utf-8")
    args = ["build", "-t", HELPER, "--network", "host"]
    if engine.standin:
        args.append("--pull=never")
    done = engine.cmd(*args, str(folder), timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return HELPER


@dataclass
class Pipeline:
    code: int
    output: str
    project: Path

    def artifact(self, job: str, path: str) -> Path:
        return self.project / ".gitlab-ci-local" / "artifacts" / job / path

    def dotenv(self, job: str, path: str) -> dict[str, str]:
        file = self.artifact(job, f".gitlab-ci-reports/dotenv/{path}")
        assert file.is_file(), f"no dotenv report {path} from {job}:\n{self.output[-3000:]}"
        return dict(line.split("=", 1) for line in file.read_text("utf-8").splitlines()
                    if "=" in line)

    def log(self, job: str) -> str:
        return (self.project / ".gitlab-ci-local" / "output" / f"{job}.log").read_text("utf-8")


def run_pipeline(command: Path, engine: Engine, helper: str, project: Path,
                 pipeline: str, files: dict[str, str], variables: dict[str, str]) -> Pipeline:
    """A git project with these files and this .gitlab-ci.yml, run by gitlab-ci-local;
    the variables are the project's CI/CD variables (a file, never a command line)."""
    project.mkdir(parents=True)
    for name, text in {**files, ".gitlab-ci.yml": pipeline}.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, "utf-8")
    (project / ".gitlab-ci-local-variables.yml").write_text(yaml.safe_dump(variables), "utf-8")
    (project / ".gitignore").write_text(".gitlab-ci-local/\n.gitlab-ci-local-variables.yml\n")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.test", "-C",
           str(project)]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "pipeline"],
                 ["remote", "add", "origin", "https://gitlab.example.test/acme/shop.git"]):
        subprocess.run([*git, *args], check=True, capture_output=True, timeout=60)
    done = subprocess.run(
        [str(command), "--cwd", ".", "--container-executable", engine.name,
         "--network", "host", "--helper-image", helper, "--pull-policy", "if-not-present",
         "--no-color", "--max-job-name-padding", "0"],
        cwd=project, env={**engine.env, "HOME": str(project.parent)}, capture_output=True,
        text=True, timeout=600)
    return Pipeline(done.returncode, done.stdout + done.stderr, project)


def _component() -> str:
    return (REPO / "templates" / "chat-smoke.yml").read_text("utf-8")


def _include(image: Image, stub: StubServer, scenario: str | None, **inputs: str) -> str:
    given = {"image": image.ref, "model": "stub-model", "base-url": stub.url(scenario),
             "environment": "staging", **inputs}
    return yaml.safe_dump({
        "include": [{"local": "templates/chat-smoke.yml", "inputs": given}],
        "stages": ["test", "deploy"],
        "deploy": {
            "stage": "deploy",
            "needs": [{"job": inputs.get("job-name", "chat-smoke"), "artifacts": True}],
            "image": {"name": image.ref, "entrypoint": [""]},
            "script": ['echo "deploy sees verdict=$CHAT_SMOKE_VERDICT"',
                       'test "$CHAT_SMOKE_VERDICT" = pass'],
        },
    }, sort_keys=False)


def _junit_cases(path: Path) -> dict[str, bool]:
    root = ET.parse(path).getroot()
    return {case.get("name", ""): case.find("failure") is None and case.find("error") is None
            for case in root.iter("testcase")}


def test_the_component_passes_and_hands_its_dotenv_to_the_next_job(
        gitlab_ci_local: Path, engine: Engine, image: Image, helper: str, stub: StubServer,
        tmp_path: Path) -> None:
    run = run_pipeline(gitlab_ci_local, engine, helper, tmp_path / "project",
                       _include(image, stub, None), {"templates/chat-smoke.yml": _component()},
                       {"COMETAPI_API_KEY": KEY})
    assert run.code == 0, run.output[-4000:]
    assert "PASS positive:stub-model" in run.log("chat-smoke")
    dotenv = run.dotenv("chat-smoke", "chat-smoke-reports/chat-smoke.env")
    assert (dotenv["CHAT_SMOKE_VERDICT"], dotenv["CHAT_SMOKE_EXIT_CODE"]) == ("pass", "0")
    cases = _junit_cases(run.artifact("chat-smoke", "chat-smoke-reports/junit.xml"))
    assert cases.get("positive:stub-model") is True, cases
    assert run.artifact("chat-smoke", "chat-smoke-reports/summary.md").is_file()
    assert "deploy sees verdict=pass" in run.log("deploy")
    assert KEY not in run.output + run.log("chat-smoke") + run.log("deploy")


def test_a_failing_gate_fails_the_job_keeps_its_reports_and_stops_the_deploy(
        gitlab_ci_local: Path, engine: Engine, image: Image, helper: str, stub: StubServer,
        tmp_path: Path) -> None:
    pipeline = _include(image, stub, "bad-key", **{"report-dir": "gate",
                                                   "negative-checks": "invalid-model"})
    run = run_pipeline(gitlab_ci_local, engine, helper, tmp_path / "project", pipeline,
                       {"templates/chat-smoke.yml": _component()}, {"COMETAPI_API_KEY": KEY})
    assert run.code != 0, run.output[-4000:]
    assert "FAIL positive:stub-model [auth]" in run.log("chat-smoke")
    dotenv = run.dotenv("chat-smoke", "gate/chat-smoke.env")  # artifacts: when: always
    assert (dotenv["CHAT_SMOKE_VERDICT"], dotenv["CHAT_SMOKE_CATEGORY"]) == ("fail", "auth")
    assert _junit_cases(run.artifact("chat-smoke", "gate/junit.xml"))["positive:stub-model"] \
        is False
    assert not (run.project / ".gitlab-ci-local" / "output" / "deploy.log").exists() or \
        "deploy sees" not in run.log("deploy")


def test_the_component_with_every_input_left_at_its_default_but_the_image(
        gitlab_ci_local: Path, engine: Engine, image: Image, helper: str, stub: StubServer,
        tmp_path: Path) -> None:
    # Empty inputs add no flag: the CI/CD variables and the config file decide.
    pipeline = yaml.safe_dump({
        "include": [{"local": "templates/chat-smoke.yml",
                     "inputs": {"image": image.ref, "job-name": "gate-prod",
                                "dotenv-prefix": "PROD_"}}]}, sort_keys=False)
    run = run_pipeline(
        gitlab_ci_local, engine, helper, tmp_path / "project", pipeline,
        {"templates/chat-smoke.yml": _component(),
         "chat-smoke.yml": "model: stub-model\nenvironment: from-the-file\n"},
        {"COMETAPI_API_KEY": KEY, "COMETAPI_BASE_URL": stub.url()})
    assert run.code == 0, run.output[-4000:]
    assert "environment: from-the-file" in run.log("gate-prod")
    assert run.dotenv("gate-prod", "chat-smoke-reports/chat-smoke.env")["PROD_VERDICT"] == "pass"


def test_the_example_pipeline_runs_as_documented(
        gitlab_ci_local: Path, engine: Engine, image: Image, helper: str, stub: StubServer,
        tmp_path: Path) -> None:
    example = (REPO / "examples" / "gitlab-ci.yml").read_text("utf-8")
    placeholder = "name: ghcr.io/<owner>/chat-smoke@sha256:<digest>"
    assert example.count(placeholder) >= 1  # the lines a user replaces
    pipeline = example.replace(placeholder, f"name: {image.ref}")
    run = run_pipeline(gitlab_ci_local, engine, helper, tmp_path / "project", pipeline, {},
                       {"COMETAPI_API_KEY": KEY, "COMETAPI_BASE_URL": stub.url()})
    assert run.code == 0, run.output[-4000:]
    jobs = yaml.safe_load(example)
    dotenv_path = jobs["chat-smoke"]["artifacts"]["reports"]["dotenv"]
    assert run.dotenv("chat-smoke", dotenv_path)["CHAT_SMOKE_VERDICT"] == "pass"
    junit = jobs["chat-smoke"]["artifacts"]["reports"]["junit"]
    assert _junit_cases(run.artifact("chat-smoke", junit)).get("positive:gpt-4o-mini") is True
    assert "The endpoint answered" in run.log("deploy")
