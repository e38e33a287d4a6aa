"""The engine's CLI commands: thin wrappers over requirements, recommend and render."""
from __future__ import annotations

import sys
from pathlib import Path

from embedwise.errors import BadInput


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def template(output: Path | None, force: bool = False) -> None:
    from embedwise.engine.requirements import template_yaml

    text = template_yaml()
    if output is None:
        _out(text)
        return
    if Path(output).exists() and not force:
        raise BadInput("exists: not overwritten (use --force to replace it)", str(output))
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write: {exc}", str(output)) from None
    sys.stderr.write(f"wrote {output}\n")


def check(path: Path, json_out: bool) -> None:
    from embedwise.engine.requirements import dump_requirements, load_requirements

    req = load_requirements(path)
    if json_out:
        from embedwise.formatting import print_json

        print_json(req.model_dump(mode="json"))
    else:
        _out(dump_requirements(req))


def recommend(path: Path, top: int | None, json_out: bool, why_id: str | None, rules: Path | None = None) -> None:
    from embedwise.engine.recommend import recommend as run
    from embedwise.engine.recommend import why
    from embedwise.engine.requirements import load_requirements
    from embedwise.engine.rules import load_rules

    req = load_requirements(path)
    if rules is not None and not Path(rules).is_dir():
        raise BadInput("not a folder of rule files", str(rules))
    ruleset = load_rules(rules)  # validated before the knowledge base is opened
    if why_id:
        _out(why(run(req, rules=ruleset), why_id))
        return
    shortlist = run(req, top=top if top is not None or json_out else 10, rules=ruleset)
    if json_out:
        from embedwise.formatting import print_json

        print_json(shortlist.model_dump(mode="json"))
        return
    from embedwise.engine.render import render_shortlist

    render_shortlist(shortlist)
