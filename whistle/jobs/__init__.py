"""Periodic jobs run by `whistle worker`, beside the web process (see ``runner``)."""

from whistle.jobs.runner import Job, run_due_jobs, run_worker

__all__ = ["Job", "run_due_jobs", "run_worker"]
