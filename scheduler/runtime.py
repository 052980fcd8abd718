"""Wiring: settings -> store, calendars, mailer, jobs. The one place that builds them, so the
web app, the command line and tests assemble Nextstep the same way; and PROVIDERS, the one
registry of calendar providers (a new provider is one module and one line here)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from scheduler.booking import Jobs
from scheduler.calendars import Calendars, ProviderBuilder
from scheduler.clock import Clock, SystemClock
from scheduler.connections import (
    renew_push_channels,
    request_mirror_refreshes,
    run_requested_syncs,
)
from scheduler.errors import SchedulerError
from scheduler.invites import Mailer, mailer_from_settings
from scheduler.log import push_to_crm
from scheduler.offers import expire_offers, short_followup_token
from scheduler.outbox import OutboxContext, process_outbox
from scheduler.providers import google, local, outlook
from scheduler.providers.base import ProviderRegistry
from scheduler.readmodels import FollowUpView
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.sync import flag_stalled_steps

logger = logging.getLogger(__name__)

PROVIDERS = ProviderRegistry([local.DESCRIPTION, google.DESCRIPTION, outlook.DESCRIPTION])


@dataclass
class Nextstep:
    settings: Settings
    store: Store
    clock: Clock
    calendars: Calendars
    mailer: Mailer
    jobs: Jobs = field(init=False)
    manage_url: Callable[[FollowUpView], str] | None = None
    http: requests.Session | None = None  # for msal's sign-in legs, like the Outlook adapter
    after_tick: list[Callable[[Nextstep], object]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None,
              mailer: Mailer | None = None, store: Store | None = None,
              builders: dict[str, ProviderBuilder] | None = None,
              http: requests.Session | None = None,
              providers: ProviderRegistry = PROVIDERS) -> Nextstep:
        clock = clock or SystemClock()
        store = store or Store(settings.database_url)
        calendars = Calendars(store=store, settings=settings, clock=clock, providers=providers,
                              builders=builders if builders is not None
                              else providers.builders(http))
        base = settings.base_url.rstrip("/")
        return cls(settings=settings, store=store, clock=clock, calendars=calendars, http=http,
                   mailer=mailer or mailer_from_settings(settings),
                   manage_url=lambda followup: f"{base}/f/" + short_followup_token(
                       followup.id, store=store, settings=settings, clock=clock))

    def use_jobs(self, jobs: Jobs) -> Nextstep:
        self.jobs = jobs
        return self

    def deps(self) -> dict[str, Any]:
        """The keyword dependencies every booking service takes."""
        return {"store": self.store, "calendars": self.calendars, "clock": self.clock,
                "settings": self.settings, "jobs": self.jobs}

    def outbox_context(self) -> OutboxContext:
        return OutboxContext(store=self.store, calendars=self.calendars, mailer=self.mailer,
                             settings=self.settings, clock=self.clock,
                             manage_url=self.manage_url)

    def tick(self) -> int:
        """One round of background work; returns how many outbox messages finished."""
        done = 0
        while True:
            finished = process_outbox(self.outbox_context())
            done += finished
            if finished == 0:
                break
        if self.settings.crm_webhook_url:
            try:
                push_to_crm(self.store, url=self.settings.crm_webhook_url,
                            secret=self.settings.crm_webhook_secret, clock=self.clock)
            except SchedulerError as exc:
                logger.warning("CRM webhook: %s", exc.message)
        expire_offers(store=self.store, clock=self.clock)
        request_mirror_refreshes(store=self.store, clock=self.clock, settings=self.settings)
        run_requested_syncs(store=self.store, calendars=self.calendars, clock=self.clock)
        renew_push_channels(store=self.store, calendars=self.calendars, clock=self.clock,
                            settings=self.settings)
        flag_stalled_steps(store=self.store, clock=self.clock)
        for hook in self.after_tick:
            hook(self)
        return done


def default_builders(http: requests.Session | None = None) -> dict[str, ProviderBuilder]:
    """The adapters for connected accounts. `http` is the session Outlook's msal and Graph
    calls go through (tests hand in one that reaches the emulators)."""
    return PROVIDERS.builders(http)
