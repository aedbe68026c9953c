"""The report of notify's burst (bench_notify): ``notify.md`` from the figures ``run`` measured."""

from __future__ import annotations

from bench.support import cpu_profile_markdown, goals_markdown


def report(result: dict) -> str:
    def row(name: str, summary: dict) -> str:
        return (
            f"| {name} | {summary['n']} | {summary['p50_ms']} | {summary['p99_ms']} | {summary['mean_ms']} |"
        )

    return "\n".join(
        [
            f"# Notify: {result['reminders']:,} reminders due within {result['window_seconds']:g} s, "
            "two instances, one SIGKILLed mid-run",
            "",
            f"Reminders: {result['reminders']} created through RPC in {result['creation']['seconds']} s "
            f"({result['creation']['per_second']}/s), due within {result['window_seconds']} s; every one "
            f"escalates {result['escalation_minute_seconds']} s after due (one escalation minute shortened "
            "to that), so every one is also an SMS through the real twilio SDK to the fake Twilio server. "
            f"Create calls refused (not counted as reminders): {result.get('create_failures', 0)}.",
            f"Instance A was SIGKILLed {result['kill']['after_window_start_seconds']} s into the window and "
            f"answered again {result['kill']['restart_seconds']} s later. Finished: {result['finished']}.",
            "",
            "| lag | n | p50 ms | p99 ms | mean ms |",
            "|---|---|---|---|---|",
            row("due → in-app (visible to a reader polling every 50 ms)", result["due_to_in_app_observed"]),
            row("due → in-app (the notification's own timestamp)", result["due_to_in_app_stamped"]),
            row("escalation time → SMS accepted by Twilio", result["timeout_to_sms"]),
            "",
            "## Goals (issue 13)",
            "",
            goals_markdown(result["goals"]),
            "| count | value | goal |",
            "|---|---|---|",
            f"| lost reminders (no in-app notification) | {result['lost_reminders']} | 0 |",
            f"| duplicate in-app notifications | {result['duplicate_notifications']} | 0 |",
            f"| SMS missing at Twilio | {result['sms_missing_at_twilio']} | 0 |",
            f"| duplicate SMS at Twilio | {result['duplicate_sms_at_twilio']} | 0 |",
            f"| reminders marked late | {result['late_reminders']} | — |",
            f"| SMS that needed a retry or a reconciliation | {result['sms_sent_after_retry_or_reconcile']} | — |",
            "",
            f"SMS log: {result['sms_status']}; reminders: {result['reminder_status']}.",
            "",
            f"Machine CPU busy from the window's start to the last SMS: {result['machine_cpu_busy_percent']} % "
            f"of {result['cpus']} cores. CPU seconds in that time: "
            + ", ".join(f"{name} {seconds}" for name, seconds in result["cpu_seconds_by_process"].items())
            + " (postgres: every backend on the machine; notify_a: the killed process and its successor). "
            f"Notify's CPU per SMS (both instances, everything they did): {result['notify_cpu_ms_per_sms']} ms; "
            f"every process's: {result['all_cpu_ms_per_sms']} ms, so keeping up with the window takes "
            f"{result['cores_needed_to_keep_up']} cores of the machine's {result['cpus']}. "
            f"SMS rate limit per sender: {result['sms_max_per_second']}/s.",
            "",
            *cpu_profile_markdown("notify_b from the window's start", result.get("cpu_profile_notify_b")),
            f"Load average (1, 5, 15 min) before {result['machine_load']['before']['load_average']}, "
            f"after {result['machine_load']['after']['load_average']}: the machine is shared with other work.",
            "",
        ]
    )
