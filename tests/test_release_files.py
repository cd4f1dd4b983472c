"""Release hygiene read from the files: the action's metadata, the base image tag, the
release workflow's pin step, Dependabot, the license, the examples' image references."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def _yaml(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


def _version() -> str:
    with (REPO / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def test_action_description_fits_the_marketplace() -> None:
    description = _yaml(REPO / "action.yml")["description"]
    assert isinstance(description, str) and description.strip()
    assert len(description) <= 125, f"{len(description)} characters; the Marketplace allows 125"


def test_main_builds_the_dockerfile_and_release_pins_that_line() -> None:
    # main: `image: Dockerfile`, so a pull request's self-test runs its own code. The
    # release job rewrites exactly that line to docker://IMAGE@DIGEST.
    action = _yaml(REPO / "action.yml")
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert "\n  image: Dockerfile\n" in (REPO / "action.yml").read_text("utf-8")
    release = (REPO / ".github" / "workflows" / "release.yml").read_text("utf-8")
    assert "grep -qx '  image: Dockerfile' action.yml" in release
    assert 's|^  image: Dockerfile\\$|  image: docker://$IMAGE@$DIGEST|' in release


def test_release_workflow_builds_both_platforms_with_attestations() -> None:
    workflow = _yaml(REPO / ".github" / "workflows" / "release.yml")
    assert workflow[True]["push"]["tags"] == ["v*.*.*"]  # YAML reads `on` as True
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    build = next(s for s in steps if s.get("uses", "").startswith("docker/build-push-action@"))
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["push"] is True and build["with"]["sbom"] is True
    assert str(build["with"]["provenance"]).startswith("mode=")
    assert any(s.get("uses", "").startswith("actions/attest-build-provenance@") for s in steps)
    assert "bash .ci/run" in [s.get("run") for s in workflow["jobs"]["test"]["steps"]]
    assert workflow["jobs"]["publish"]["needs"] == "test"


def test_base_image_is_on_a_patch_level_tag() -> None:
    froms = [line.split()[1] for line in (REPO / "Dockerfile").read_text("utf-8").splitlines()
             if line.upper().startswith("FROM ")]
    assert len(froms) == 1
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-[a-z]+", froms[0]), froms[0]


def test_dependabot_covers_actions_the_base_image_and_pip() -> None:
    config = _yaml(REPO / ".github" / "dependabot.yml")
    assert config["version"] == 2
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(ecosystems) == {"github-actions", "docker", "pip"}
    assert all(u["directory"] == "/" for u in ecosystems.values())
    # Dependabot's pip support reads requirements*.txt files, not a .lock.
    assert (REPO / "requirements.txt").is_file()
    assert not (REPO / "requirements.lock").exists()
    assert "--output-file=requirements.txt" in (REPO / "requirements.txt").read_text("utf-8")


def test_license_and_security_policy() -> None:
    with (REPO / "pyproject.toml").open("rb") as f:
        declared = tomllib.load(f)["project"]["license"]
    assert declared == {"text": "MIT"}
    assert (REPO / "LICENSE").read_text("utf-8").startswith("MIT License\n")
    security = (REPO / "SECURITY.md").read_text("utf-8")
    assert "## Supported versions" in security and "## Reporting a vulnerability" in security


def test_changelog_has_the_release_section() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text("utf-8")
    assert re.search(rf"^## \[{re.escape(_version())}\]", changelog, re.M), _version()


def test_examples_use_the_image_by_digest() -> None:
    digest_ref = "ghcr.io/<owner>/chat-smoke@sha256:<digest>"
    gitlab = _yaml(REPO / "examples" / "gitlab-ci.yml")
    assert gitlab["chat-smoke"]["image"]["name"] == digest_ref
    jenkins = (REPO / "examples" / "Jenkinsfile").read_text("utf-8")
    assert f"docker.image('{digest_ref}')" in jenkins
    guides = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    for text in (jenkins, *(page.read_text("utf-8") for page in guides)):
        assert "chat-smoke:0.1.0" not in text  # no mutable tag left to copy


def test_jenkins_example_keeps_the_key_off_argv() -> None:
    jenkins = (REPO / "examples" / "Jenkinsfile").read_text("utf-8")
    assert "file(credentialsId:" in jenkins and "variable: 'KEY_FILE'" in jenkins
    assert "sh 'chat-smoke run --api-key-file \"$KEY_FILE\"" in jenkins
    assert "string(credentialsId:" not in jenkins
    # The README's Jenkins example, and the Jenkins guide its long section moved to.
    readme = (REPO / "README.md").read_text("utf-8")
    jenkins_section = readme[readme.index("## In Jenkins"):]
    jenkins_section = jenkins_section[:jenkins_section.index("\n## ", 1)]
    guide = (REPO / "docs" / "jenkins.md").read_text("utf-8")
    for text in (jenkins_section, guide):
        assert "file(credentialsId:" in text
        assert '--api-key-file "$KEY_FILE"' in text
        assert "string(credentialsId:" not in text


def test_ci_runs_the_container_suite_on_its_engine() -> None:
    # .ci/run is the README's test command, and pytest's testpaths include
    # tests/container: GitHub's runner has a docker engine, so the suite builds and runs
    # the real image there.
    workflow = _yaml(REPO / ".github" / "workflows" / "ci.yml")
    assert "bash .ci/run" in [s.get("run") for s in workflow["jobs"]["test"]["steps"]]
    assert "python -m pytest" in (REPO / ".ci" / "run").read_text("utf-8")
    with (REPO / "pyproject.toml").open("rb") as f:
        testpaths = tomllib.load(f)["tool"]["pytest"]["ini_options"]["testpaths"]
    assert testpaths == ["tests"] and (REPO / "tests" / "container" / "test_image.py").is_file()


def test_release_publishes_to_pypi_by_trusted_publishing_with_attestations() -> None:
    workflow = _yaml(REPO / ".github" / "workflows" / "release.yml")
    jobs = workflow["jobs"]
    build = "\n".join(s.get("run", "") for s in jobs["dist"]["steps"])
    assert "python -m build" in build and "twine check --strict dist/*" in build
    pypi = jobs["pypi"]
    assert pypi["permissions"] == {"id-token": "write"}  # OIDC, no stored token
    assert pypi["environment"]["name"] == "pypi"
    publish = next(s for s in pypi["steps"] if "uses" in s and "pypi-publish" in s["uses"])
    assert publish["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert publish["with"] == {"attestations": True}  # no password: trusted publishing
    assert set(pypi["needs"]) >= {"dist"} and "test" in str(jobs["dist"]["needs"])


def test_ci_builds_the_wheel_and_runs_it_outside_the_checkout() -> None:
    workflow = _yaml(REPO / ".github" / "workflows" / "ci.yml")
    run = "\n".join(s.get("run", "") for s in workflow["jobs"]["wheel"]["steps"])
    assert "python -m build" in run and "twine check --strict" in run
    assert 'cd "$RUNNER_TEMP"' in run
    assert '/fresh/bin/chat-smoke" demo' in run
    assert 'import smoke; smoke.run' in run


def test_the_gitlab_component_declares_its_inputs_and_keeps_both_reports() -> None:
    # A CI/CD component: a spec document, then the jobs (tests/container/
    # test_gitlab_ci_local.py runs it under gitlab-ci-local).
    spec, jobs = yaml.safe_load_all((REPO / "templates" / "chat-smoke.yml").read_text("utf-8"))
    inputs = spec["spec"]["inputs"]
    assert {"stage", "image", "model", "environment", "config", "negative-checks",
            "report-dir"} <= set(inputs)
    assert all("description" in value for value in inputs.values())
    (name, job), = jobs.items()
    assert name == "$[[ inputs.job-name ]]"
    assert job["image"]["entrypoint"] == [""]
    assert job["artifacts"]["when"] == "always"
    assert set(job["artifacts"]["reports"]) == {"junit", "dotenv"}
    used = {word.split(".", 1)[1].split(" ")[0] for word in
            (REPO / "templates" / "chat-smoke.yml").read_text("utf-8").split("$[[ ")[1:]}
    assert used == set(inputs), used ^ set(inputs)  # every input used, none unknown


def test_pages_builds_the_site_strict_and_deploys_it() -> None:
    workflow = _yaml(REPO / ".github" / "workflows" / "pages.yml")
    build = "\n".join(s.get("run", "") for s in workflow["jobs"]["build"]["steps"])
    assert "mkdocs build --strict" in build and "docs/generate.py --check" in build
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
    ci = _yaml(REPO / ".github" / "workflows" / "ci.yml")
    assert any("mkdocs build --strict" in s.get("run", "") for s in ci["jobs"]["docs"]["steps"])


def test_release_pins_the_gitlab_components_default_image() -> None:
    text = (REPO / "templates" / "chat-smoke.yml").read_text("utf-8")
    assert len(re.findall(r"(?m)^      default: ghcr\.io/chat-smoke/chat-smoke:", text)) == 1
    release = (REPO / ".github" / "workflows" / "release.yml").read_text("utf-8")
    assert 's|^      default: ghcr.io/chat-smoke/chat-smoke:.*\\$|      default: $IMAGE@$DIGEST|' \
        in release
    assert "-- action.yml templates/chat-smoke.yml" in release
