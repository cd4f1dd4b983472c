"""``chat-smoke init``: a commented chat-smoke.yml and the CI file of one platform.

The platform is the one named (``--ci``) or the one the folder shows (its CI files, else
its git remote's host); with neither, only chat-smoke.yml is written. No file is ever
overwritten: each is created exclusively, and one that exists is kept and named. When a
platform's usual file exists already, the job goes into a file of its own next to it and
the next steps say how to wire it in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from smoke._version import __version__

DOCS = "https://github.com/chat-smoke/chat-smoke/blob/main/docs/"
STUB_KEY = "sk-stub-not-a-secret-0123456789abcdef"  # the stub's default (smoke.stub.server)
CONFIG = "chat-smoke.yml"


@dataclass(frozen=True)
class Platform:
    name: str
    template: str
    path: str  # the platform's usual file
    alternate: str  # where the job goes when that file exists
    wire: str  # how to use the alternate file
    secret: str  # where to create COMETAPI_API_KEY
    page: str  # the docs page


PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform("github", "github.yml", ".github/workflows/chat-smoke.yml",
             ".github/workflows/chat-smoke-gate.yml", "a workflow of its own",
             "a repository secret COMETAPI_API_KEY (Settings > Secrets and variables > "
             "Actions, or `gh secret set COMETAPI_API_KEY`)", "github-actions.md"),
    Platform("gitlab", "gitlab.yml", ".gitlab-ci.yml", ".gitlab/chat-smoke.yml",
             "add `include: [{local: .gitlab/chat-smoke.yml}]` to .gitlab-ci.yml and a "
             "`gate` stage to its stages",
             "a CI/CD variable COMETAPI_API_KEY, masked and protected (Settings > CI/CD > "
             "Variables)", "gitlab.md"),
    Platform("azure", "azure.yml", "azure-pipelines.yml", ".azure-pipelines/chat-smoke.yml",
             "create a pipeline from it (Pipelines > New pipeline > Existing YAML file)",
             "a secret pipeline variable COMETAPI_API_KEY (Edit > Variables, or a variable "
             "group)", "azure.md"),
    Platform("jenkins", "jenkins.groovy", "Jenkinsfile", "Jenkinsfile.chat-smoke",
             "point a Pipeline job's Script Path at it",
             "a Secret file credential with the id cometapi-api-key-file (Manage Jenkins > "
             "Credentials), a file holding only the key", "jenkins.md"),
    Platform("buildkite", "buildkite.yml", ".buildkite/pipeline.yml",
             ".buildkite/chat-smoke.yml",
             "upload it from a step: `buildkite-agent pipeline upload .buildkite/"
             "chat-smoke.yml`",
             "COMETAPI_API_KEY in the agent's environment hook or your secrets store",
             "buildkite.md"),
    Platform("circleci", "circleci.yml", ".circleci/config.yml", ".circleci/chat-smoke.yml",
             "copy its job and workflow into .circleci/config.yml (CircleCI reads one file)",
             "COMETAPI_API_KEY in a context or the project's environment variables "
             "(Project Settings > Environment Variables)", "circleci.md"),
    Platform("bitbucket", "bitbucket.yml", "bitbucket-pipelines.yml",
             "bitbucket-pipelines.chat-smoke.yml",
             "copy its step into bitbucket-pipelines.yml (Bitbucket reads one file)",
             "a secured repository variable COMETAPI_API_KEY (Repository settings > "
             "Repository variables)", "bitbucket.md"),
)}
CHOICES = ("auto", *PLATFORMS, "local")

# What a folder shows: a file or folder of the platform, else its git remote's host.
_MARKERS = (
    (".github", "github"), (".gitlab-ci.yml", "gitlab"), ("azure-pipelines.yml", "azure"),
    ("Jenkinsfile", "jenkins"), (".buildkite", "buildkite"), (".circleci", "circleci"),
    ("bitbucket-pipelines.yml", "bitbucket"),
)
_HOSTS = (("github", "github"), ("gitlab", "gitlab"), ("dev.azure.com", "azure"),
          ("visualstudio.com", "azure"), ("bitbucket", "bitbucket"))


class _Template(Template):
    delimiter = "@@"


@dataclass
class Outcome:
    platform: str
    written: list[str]
    kept: list[str]
    next_steps: list[str]


def detect(folder: Path) -> str:
    """The platform the folder's files or git remote show; "local" when none does."""
    for marker, name in _MARKERS:
        if (folder / marker).exists():
            return name
    git_config = folder / ".git" / "config"
    if git_config.is_file():
        remotes = re.findall(r"^\s*url\s*=\s*(\S+)", git_config.read_text("utf-8", "replace"),
                             re.M)
        for url in remotes:
            for needle, name in _HOSTS:
                if needle in url.lower():
                    return name
    return "local"


def render(template: str, values: Mapping[str, str]) -> str:
    text = resources.files("smoke.scaffold").joinpath("templates", template).read_text("utf-8")
    return _Template(text).substitute(values)


def _create(path: Path, text: str) -> bool:
    """Create ``path`` with ``text``; False, untouched, when it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8", newline="\n") as out:
            out.write(text)
    except FileExistsError:
        return False
    return True


def _token(value: str, what: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/@-]*", value):
        raise ValueError(f"{what} {value!r}: use letters, digits and . _ : / @ - only")
    return value


def init(folder: Path, ci: str = "auto", model: str = "gpt-4o-mini",
         environment: str = "production", base_url: str | None = None) -> Outcome:
    """Write chat-smoke.yml and the platform's CI file into ``folder``; never overwrite.
    Raises ValueError for a value that cannot go into the files as given."""
    name = detect(folder) if ci == "auto" else ci
    if name not in PLATFORMS and name != "local":
        raise ValueError(f"--ci {ci!r}: choose one of {', '.join(CHOICES)}")
    values = {
        "model": _token(model, "--model"), "environment": _token(environment, "--environment"),
        "version": __version__, "major": __version__.split(".")[0],
        "base_url_line": (f"base_url: {_token(base_url, '--base-url')}" if base_url
                          else "# base_url: https://api.cometapi.com/v1"),
    }
    written: list[str] = []
    kept: list[str] = []
    (written if _create(folder / CONFIG, render("chat-smoke.yml", values)) else kept).append(
        CONFIG)
    steps: list[str] = []
    platform = PLATFORMS.get(name)
    if platform is not None:
        target: str | None = platform.path
        usual = folder / platform.path
        if usual.exists():
            kept.append(platform.path)
            # A usual file that runs chat-smoke already (an earlier init) needs no twin.
            ours = usual.is_file() and "chat-smoke" in usual.read_text("utf-8", "replace")
            target = None if ours else platform.alternate
        if target is None:
            pass
        elif _create(folder / target, render(platform.template, values)):
            written.append(target)
            if target == platform.alternate:
                steps.append(f"{target} holds the job ({platform.path} exists): "
                             f"{platform.wire}.")
        else:
            kept.append(target)
        steps.insert(0, f"Create {platform.secret}.")
    else:
        steps.append("No CI platform named or found: `chat-smoke init --ci github` (or "
                     "gitlab, azure, jenkins, buildkite, circleci, bitbucket) adds its file.")
    steps.append(
        "Try the gate here against the bundled stub (no key, no network):\n"
        "       chat-smoke stub &\n"
        f"       COMETAPI_API_KEY={STUB_KEY} chat-smoke run --config {CONFIG} "
        "--base-url http://127.0.0.1:8765/v1\n"
        "       kill %1")
    page = platform.page if platform else "configuration.md"
    steps.append(f"Commit the files. More: {DOCS}{page}")
    return Outcome(name, written, kept, steps)


def report(outcome: Outcome, folder: Path) -> str:
    """What init did and the next steps, for the console."""
    where = "" if folder.resolve() == Path.cwd().resolve() else f" in {folder}"
    lines = [f"chat-smoke init ({outcome.platform}){where}:"]
    lines += [f"  wrote {path}" for path in outcome.written]
    lines += [f"  kept {path} (it exists; not overwritten)" for path in outcome.kept]
    lines.append("Next steps:")
    lines += [f"  {i}. {step}" for i, step in enumerate(outcome.next_steps, 1)]
    return "\n".join(lines)
