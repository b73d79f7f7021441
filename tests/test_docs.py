"""The README documents what exists: every setting and every command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import ROOT

from archive.cli import main
from archive.config import SETTINGS, resolve_config

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix}{name} ")
        else:
            names.append(f"{prefix}{name}")
    return names


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_in_the_readme_table(setting):
    row = next(
        (line for line in README.splitlines() if line.startswith(f"| {setting.name} |")), None
    )
    assert row is not None, f"README has no settings row for {setting.name}"
    assert setting.env in row


@pytest.mark.parametrize("command", _commands(main))
def test_every_command_is_documented_with_examples(command):
    assert f"`archive {command}" in README, f"README does not document 'archive {command}'"
    result = CliRunner().invoke(main, [*command.split(), "--help"])
    assert result.exit_code == 0 and "Example" in result.output, result.output


def test_readme_quick_start_has_exactly_two_commands():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert len(re.findall(r"```sh\n", section)) == 2


def test_precedence_option_over_environment_over_default(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHIVE_TESTIMONIES", str(tmp_path / "from-env"))
    assert resolve_config().testimonies == tmp_path / "from-env"
    assert resolve_config(testimonies=tmp_path / "explicit").testimonies == tmp_path / "explicit"
    monkeypatch.delenv("ARCHIVE_TESTIMONIES")
    config = resolve_config()
    assert config.testimonies == Path.cwd() / "testimonies"  # the default, made absolute
    assert "testimony-archive" in str(config.index)  # one directory per archive, in the cache
    other = resolve_config(testimonies=tmp_path / "other")
    assert other.index != config.index
