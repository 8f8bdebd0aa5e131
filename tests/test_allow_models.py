"""--allow-models names models (owner/name, owner/*) and deployments (deployments/owner/name,
deployments/owner/*, deployments/*), from the flag or the environment; anything else stops the server
at start, saying the forms."""

import pytest

from replicate_mcp.config import ConfigError, load_settings

FORMS = (
    "is not owner/name or owner/* (a deployment: deployments/owner/name, "
    "deployments/owner/* or deployments/*)"
)


@pytest.mark.parametrize(
    "pattern",
    [
        "deployments/acme/hello-dep",
        "deployments/acme/*",
        "deployments/*",
        "Deployments/Acme/Hello-Dep",
        "acme/hello",
        "acme/*",
    ],
)
def test_models_and_deployments_are_valid_from_the_flag_and_the_environment(pattern):
    assert load_settings({"allow_models": (pattern,)}, env={}).allow_models == (pattern,)
    from_env = load_settings(env={"REPLICATE_MCP_ALLOW_MODELS": f"replicate/hello-world, {pattern}"})
    assert from_env.allow_models == ("replicate/hello-world", pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        "deployments/acme",
        "deployments/acme/hello/extra",
        "deployments/*/hello",
        "deployments",
        "acme/hello/extra",
        "*/*",
        "acme hello",
    ],
)
def test_other_shapes_are_refused_naming_the_variable_and_the_forms(pattern):
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"REPLICATE_MCP_ALLOW_MODELS": pattern})
    assert "REPLICATE_MCP_ALLOW_MODELS" in str(caught.value)
    assert f"'{pattern}' {FORMS}" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_settings({"allow_models": (pattern,)}, env={})
    assert f"'{pattern}' {FORMS}" in str(caught.value)
