"""``maxim-bot discord invite`` and ``maxim-bot discord sync``."""

from __future__ import annotations

import discord

from bot.__main__ import main
from bot.platforms.discord.cli import invite_url
from bot.platforms.discord.client import build_discord_client
from bot.platforms.discord.sync import COMMAND_META_KEY, command_digest
from bot.storage import Storage
from tests.bot.bot_process import BotProcess, starts_bot_process
from tests.bot.platforms.discord.helpers import (
    make_service,
    process_env,
    puts,
    settings_for,
    write_discord_config,
)

USER_INSTALL = (
    "Add to my apps: https://discord.com/oauth2/authorize?client_id={}"
    "&integration_type=1&scope=applications.commands"
)
# View Channels, Send Messages, Embed Links, Read Message History, Send Messages in Threads
# (274877991936), and Attach Files (1 << 15 = 32768) for cards.
PERMISSIONS = 274_878_024_704 | 1 << 35  # ... and Create Public Threads (thread = true)


def test_invite_prints_the_url_with_exactly_the_permissions_used(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["discord", "invite", "--client-id", "1234"]) == 0
    server, user = capsys.readouterr().out.splitlines()
    assert server == (
        "https://discord.com/oauth2/authorize?client_id=1234"
        f"&scope=bot+applications.commands&permissions={PERMISSIONS}"
    )
    assert user == USER_INSTALL.format(1234)  # no bot, no permissions: commands only
    (tmp_path / "config.toml").write_text('[discord]\nreaction = "🤔"\n')
    assert main(["discord", "invite", "--client-id", "1234"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(f"permissions={PERMISSIONS | 64}")


def test_invite_without_token_or_client_id_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["discord", "invite"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("maxim-bot: Discord: set DISCORD_TOKEN")


def test_invite_uses_the_configured_client_id_without_a_token(capsys, monkeypatch, tmp_path):
    """``discord.client_id`` is also what the pages' "Add to Discord" links with."""
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("[discord]\nclient_id = 5678\n")
    assert main(["discord", "invite"]) == 0
    server, user = capsys.readouterr().out.splitlines()
    assert server == (
        "https://discord.com/oauth2/authorize?client_id=5678"
        f"&scope=bot+applications.commands&permissions={PERMISSIONS}"
    )
    assert user == USER_INSTALL.format(5678)
    assert main(["discord", "invite", "--client-id", "1234"]) == 0  # the option wins
    assert "client_id=1234" in capsys.readouterr().out.splitlines()[0]


async def test_invite_asks_discord_for_the_application_id(fake):
    server, user = (await invite_url(settings_for(fake))).splitlines()
    assert server == (
        f"https://discord.com/oauth2/authorize?client_id={fake.application_id}"
        f"&scope=bot+applications.commands&permissions={PERMISSIONS}"
    )
    assert user == USER_INSTALL.format(fake.application_id)


@starts_bot_process
async def test_discord_sync_pushes_the_commands_to_one_guild_and_remembers(fake, tmp_path):
    write_discord_config(tmp_path, fake)
    other = fake.add_guild("Another server")
    bot = await BotProcess.start(
        tmp_path, process_env(fake), "discord", "sync", "--guild", str(other.id)
    )
    try:
        code, out = await bot.end(terminate=False)
    finally:
        bot.kill()
    assert code == 0, bot.text
    assert out.strip() == f"synced /maxim and /maxim-daily to server {other.id}"
    assert puts(fake) == [f"/applications/{fake.application_id}/guilds/{other.id}/commands"]
    assert fake.gateway_connections == []  # REST only
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        key = COMMAND_META_KEY.format(application=fake.application_id, scope=other.id)
        tree = build_discord_client(make_service(storage), settings_for(fake).discord).tree
        assert await storage.get_meta(key) == command_digest(tree, discord.Object(other.id))
    finally:
        await storage.close()
