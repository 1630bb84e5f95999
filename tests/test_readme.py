"""The README's flow reference names every key a flow may have."""

import typing

from pydantic import BaseModel

from hwcompress.config import FlowConfig


def keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every field name reachable from ``model`` (criterion configs and dict values included), as dotted paths."""
    found = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        found.add(path)
        for sub in models_in(field.annotation):
            found |= keys(sub, f"{path}.")
    return found


def models_in(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in models_in(arg)]


def test_every_flow_key_is_documented_in_the_readme(repo):
    text = (repo / "README.md").read_text()
    reference = text[text.index("### A flow") : text.index("A misspelt key is an error")]
    missing = sorted(path for path in keys(FlowConfig) if f"{path.rsplit('.', 1)[-1]}:" not in reference)
    assert not missing, f"README's flow reference does not mention {missing}"
