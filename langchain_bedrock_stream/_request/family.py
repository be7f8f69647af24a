"""What the request builder reads about a model, from the one model description.

:func:`~langchain_bedrock_stream.models.describe` parses the id and holds the family profile;
this module only adapts it to the builder's questions.
"""

from __future__ import annotations

from ..models import FamilyProfile, ModelDescription, describe, parse_model_id


def base_model_name(model_id: str) -> str:
    """The foundation model id inside ``model_id`` (version kept, prefix dropped).

    ``us.anthropic.claude-sonnet-4-6`` -> ``anthropic.claude-sonnet-4-6``; an ARN that names
    no model (application inference profile) gives its resource id: pass ``base_model_id``
    for those.
    """
    parsed = parse_model_id(model_id)
    return parsed.base or parsed.resource or model_id


def description(model_id: str | None, base_model_id: str | None = None) -> ModelDescription | None:
    """The model's description, or ``None`` when no model is named (conversion only)."""
    return describe(model_id, base_model_id) if model_id else None


def known_profile(model: ModelDescription | None) -> FamilyProfile | None:
    """The model's profile when the model data knows the model, else ``None``."""
    return model.profile if model is not None and model.known else None
