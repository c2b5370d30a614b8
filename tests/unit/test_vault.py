"""The vault seals with the newest key, opens with the key a value names, and refuses a value
moved to another row or a key ring that cannot be used, without ever echoing a key."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from dbolt.settings import LOCAL_VAULT_KEYS, ServiceSettings, VaultSettingsMixin
from dbolt.vault import Vault, VaultError, generate_password, new_key_spec


def test_a_sealed_value_opens_only_in_its_own_context() -> None:
    vault = Vault.from_spec(new_key_spec("k1"))
    sealed = vault.seal(b"hunter2", "directory_account:c1:acme")
    assert b"hunter2" not in sealed.ciphertext
    assert vault.open(sealed, "directory_account:c1:acme") == b"hunter2"
    with pytest.raises(VaultError, match="wrong key or wrong row"):
        vault.open(sealed, "directory_account:c2:acme")


def test_rotation_seals_with_the_first_key_and_still_opens_old_values() -> None:
    old = new_key_spec("k1")
    sealed_before = Vault.from_spec(old).seal(b"s", "ctx")
    rotated = Vault.from_spec(f"{new_key_spec('k2')},{old}")
    assert rotated.seal(b"s", "ctx").key_id == "k2"
    assert rotated.open(sealed_before, "ctx") == b"s"
    with pytest.raises(VaultError, match="no key 'k1'"):
        Vault.from_spec(new_key_spec("k2")).open(sealed_before, "ctx")


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("", "is empty"),
        ("k1", "id:base64"),
        ("k1:not base64!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes"),
        (f"{new_key_spec('k1')},{new_key_spec('k1')}", "appears twice"),
    ],
    # Named by what is wrong, not by the (random) keys: parallel pytest processes must collect
    # the same test ids.
    ids=["empty", "no-key", "bad-base64", "short-key", "id-twice"],
)
def test_a_bad_key_ring_names_the_variable_and_never_the_key(spec: str, says: str) -> None:
    with pytest.raises(VaultError, match=says) as refused:
        Vault.from_spec(spec)
    assert "VAULT_KEYS" in str(refused.value)
    for part in spec.split(","):
        secret = part.partition(":")[2]
        if len(secret) > 8:
            assert secret not in str(refused.value)


def test_generated_passwords_are_long_mixed_and_different() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert len(password) == 20
        assert any(c.isupper() for c in password)
        assert any(c.islower() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(not c.isalnum() for c in password)


def test_production_refuses_the_local_vault_key() -> None:
    class Settings(VaultSettingsMixin, ServiceSettings):
        pass

    settings = Settings(environment="test", vault_keys=SecretStr(LOCAL_VAULT_KEYS))
    problems = settings.production_problems()
    assert "VAULT_KEYS" in problems
