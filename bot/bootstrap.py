"""The one composition root: from `Settings` to storage, the chat service, platforms, scheduler.

Everything the bot is made of is built here and nowhere else (cosmicpython's ``bootstrap``):
`maxim-bot run` (through `bot.runner`), `maxim-bot discord sync` and the tests all call these
functions, so a new collaborator is wired in once. Parts receive what they need as explicit
arguments; nothing is looked up from a shared mutable bag.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from bot.chat import ChatService, Clock, build_trigger_engine, utc_now
from bot.config.storage_key import storage_keys
from bot.daily.commands import DailySubscriptions, config_subscriptions
from bot.storage import Storage
from maxims import Corpus, load_corpus

if TYPE_CHECKING:
    from bot.config import Settings, SlackConfig
    from bot.daily.scheduler import DailyScheduler
    from bot.platforms import HealthCheck, Platform
    from bot.web.site import Site

SLACK_INSTALL_PATH = "/slack/install"
"""Bolt's install address on the Slack listener, which the landing page's button opens."""


async def open_storage(settings: Settings) -> Storage:
    """Storage at ``storage.url``, waiting and bounded as ``[storage]`` says."""
    return await Storage.open(
        settings.storage.url,
        connect_timeout=settings.storage.connect_timeout_seconds,
        query_timeout=settings.storage.query_timeout_seconds,
    )


class _ScheduleReload:
    """`/maxim daily` changes reload the scheduler, which is built after the service."""

    def __init__(self) -> None:
        self.scheduler: DailyScheduler | None = None

    async def __call__(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.reload()


async def _nothing_to_reload() -> None:
    """Without a scheduler (`discord sync`, tests), a changed subscription needs no reload."""


def build_service(
    settings: Settings,
    storage: Storage,
    *,
    clock: Clock = utc_now,
    rng: random.Random | None = None,
    on_schedule_change: Callable[[], Awaitable[None]] = _nothing_to_reload,
    corpus: Corpus | None = None,
) -> ChatService:
    """The chat service every platform shares, with `/maxim daily` over `storage`.

    `on_schedule_change` runs after a chat command changed a subscription (the scheduler's
    reload); `corpus` defaults to the seventy maxims (tests pass a small one).
    """
    corpus = corpus or load_corpus()
    from bot.stats import StatsCounter  # small, but only a bot with storage needs it

    return ChatService(
        corpus=corpus,
        engine=build_trigger_engine(settings.triggers, corpus),
        storage=storage,
        clock=clock,
        rng=rng or random.Random(),  # noqa: S311  # picking jokes
        daily=DailySubscriptions(storage, on_schedule_change, clock=clock),
        stats=StatsCounter(storage, enabled=settings.stats.enabled, clock=clock),
    )


@contextlib.asynccontextmanager
async def open_service(
    settings: Settings, *, clock: Clock = utc_now
) -> AsyncIterator[tuple[ChatService, Storage]]:
    """Storage opened (and migrated) and a service over it, closed again on exit."""
    storage = await open_storage(settings)
    try:
        yield build_service(settings, storage, clock=clock), storage
    finally:
        await storage.close()


def build_platforms(
    settings: Settings,
    service: ChatService,
    *,
    healthy: HealthCheck,
    stdin: TextIO,
    stdout: TextIO,
) -> list[Platform]:
    """The configured platforms; each SDK is imported only when its platform is configured."""
    platforms: list[Platform] = []
    if settings.console_enabled:
        from bot.platforms.console import ConsolePlatform

        platforms.append(ConsolePlatform(service, settings.console, stdin, stdout))
    if settings.slack_enabled:
        from bot.platforms.slack.lifecycle import SlackPlatform

        installs = None
        secrets = settings.secrets
        if secrets.slack_client_id is not None and secrets.slack_client_secret is not None:
            from bot.platforms.slack.installs import SlackInstalls
            from bot.storage.token_cipher import TokenCipher

            installs = SlackInstalls(
                service.storage.engine,
                client_id=secrets.slack_client_id.get_secret_value(),
                client_secret=secrets.slack_client_secret.get_secret_value(),
                api_url=settings.slack.api_url,
                cipher=TokenCipher(storage_keys(secrets.storage_key)),
            )
        platforms.append(
            SlackPlatform(
                service,
                settings.slack,
                secrets,
                healthy=healthy,
                installs=installs,
                limits=settings.server,
                public_url=settings.web.public_url,
            )
        )
    if settings.discord_enabled:
        from bot.platforms.discord.lifecycle import DiscordPlatform

        platforms.append(
            DiscordPlatform(
                service,
                settings.discord,
                settings.secrets,
                storage=service.storage,
                healthy=healthy,
            )
        )
    return platforms


def slack_install_url(slack: SlackConfig) -> str:
    """Where "Add to Slack" goes: the install page beside ``slack.redirect_uri``, if it is set.

    The Slack listener's public address is where Slack sends people back to, so its install
    page is next to it (``https://bot.example.com/slack/oauth_redirect`` gives
    ``https://bot.example.com/slack/install``). Without one, `SLACK_INSTALL_PATH` on the
    pages' own address: the reverse proxy sends ``/slack/`` to the Slack listener.
    """
    if slack.redirect_uri is None:
        return SLACK_INSTALL_PATH
    base, _, last = slack.redirect_uri.split("?")[0].rpartition("/")
    if last == "oauth_redirect":
        return f"{base}/install"
    parts = urlsplit(slack.redirect_uri)
    return f"{parts.scheme}://{parts.netloc}{SLACK_INSTALL_PATH}"


def web_site(settings: Settings) -> Site | None:
    """What the pages show beyond the maxims, or None when ``[web]`` is off.

    "Add to Slack" shows when Slack OAuth is configured and opens Bolt's install page on the
    Slack listener (`slack_install_url`). "Add to Discord" is the invite of ``maxim-bot
    discord invite`` when ``discord.client_id`` is set, built here because only the platforms
    may load discord.py.
    """
    web = settings.web
    if not web.enabled or web.public_url is None:
        return None
    from bot.web.site import Site

    invite = None
    if settings.discord.client_id is not None:
        from bot.platforms.discord.cli import server_invite_url

        invite = server_invite_url(settings.discord, settings.discord.client_id)
    return Site(
        public_url=web.public_url,
        slack_install=slack_install_url(settings.slack) if settings.secrets.slack_oauth else None,
        discord_invite=invite,
        support_url=web.support_url,
        contact=web.contact,
        keep_days=settings.storage.keep_days,
    )


def _longest_cooldown(settings: Settings) -> dt.timedelta:
    """A cooldown row older than every rule's cooldown can never hold an answer back again."""
    rules = settings.triggers.rules
    longest = max([settings.triggers.cooldown_seconds, *(r.cooldown_seconds or 0 for r in rules)])
    return dt.timedelta(seconds=longest)


@dataclass
class Bot:
    """Everything `maxim-bot run` starts, built and wired, not yet started."""

    storage: Storage
    service: ChatService
    platforms: list[Platform]
    scheduler: DailyScheduler

    def healthy(self) -> bool:
        """Whether the scheduler runs (each platform adds its own connection state)."""
        return self.scheduler.running


@contextlib.asynccontextmanager
async def assemble(
    settings: Settings, *, stdin: TextIO, stdout: TextIO, clock: Clock = utc_now
) -> AsyncIterator[Bot]:
    """Open storage, build the service, the platforms and the scheduler; close storage on exit.

    The config's ``[[daily]]`` entries are written to storage first, so the scheduler sees them
    on its first reload.
    """
    from bot.daily.scheduler import DailyScheduler  # APScheduler loads only to run the bot

    storage = await open_storage(settings)
    try:
        await storage.sync_config_subscriptions(config_subscriptions(settings.daily, clock()))
        reload = _ScheduleReload()
        service = build_service(settings, storage, clock=clock, on_schedule_change=reload)

        def healthy() -> bool:
            return reload.scheduler is not None and reload.scheduler.running

        platforms = build_platforms(settings, service, healthy=healthy, stdin=stdin, stdout=stdout)
        scheduler = DailyScheduler(
            storage=storage,
            posters={p.name: p.poster for p in platforms},
            corpus=service.corpus,
            config=settings.schedule,
            clock=clock,
            keep_days=settings.storage.keep_days,
            cooldowns_older_than=_longest_cooldown(settings),
            stats=service.stats,
        )
        reload.scheduler = scheduler
        yield Bot(storage, service, platforms, scheduler)
    finally:
        await storage.close()
