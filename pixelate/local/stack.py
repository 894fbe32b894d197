"""``LocalStack``: the whole service on this machine, as one object to start and stop.

    with LocalStack(port=0, workers=2) as stack:
        stack.outputs["OriginalsBucket"], stack.outputs["DistributionUrl"]

Start order, and why: moto's server (the AWS stand-in) → the local edge binds its port (its URL is the
template's ``PublicBaseUrl``) → the template is deployed through ``pixelate.local.target.deploy_local``,
the same code as ``deploy.ipynb`` → the runner reads its settings from the deployed function, mapping and
queue → the edge loads the api function → workers report ready → ``.pixelate/stack.json`` is written.
Everything runs in child processes of this one; ``stop()`` ends them all within a few seconds and removes
the file if it is still the one this stack wrote.

One folder, one stack: ``start()`` refuses (``FolderInUse``, before starting anything) when the folder's stack
file describes a stack that is still there (``stack_in_use``): a local stack whose ``pixelate up`` process is
alive or whose moto answers, or a stack on AWS. A file left by a process that has died is replaced. ``pixelate up``, ``pixelate demo``, the notebooks and the tests all use this class.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from pixelate.deploy.stackfile import STACK_FILE, answers, is_local, read_stack_file, write_stack_file
from pixelate.local import moto_server
from pixelate.local.edge import HEALTH_PATH, Edge, EdgeConfig
from pixelate.local.lambda_sim import function_settings, moto_client
from pixelate.local.runner import Runner, take_over
from pixelate.local.settings import read_settings, settings_summary, worker_count
from pixelate.local.target import deploy_local
from pixelate.local.worker import BatchReport

#: The outputs ``.pixelate/stack.json`` carries (docs/architecture.md); the file lists its keys sorted.
OUTPUT_KEYS = (
    "EndpointUrl",
    "Region",
    "OriginalsBucket",
    "ProcessedBucket",
    "JobQueueUrl",
    "DeadLetterQueueUrl",
    "NotificationTopicArn",
    "DistributionUrl",
    "ApiUrl",
    "PixelateFunctionArn",
)
READY_TIMEOUT_S = 120.0


def web_folder() -> Path:
    """The upload page, from the package itself (works installed or not, from any working folder)."""
    return Path(__file__).resolve().parent.parent / "web"


def local_outputs(deployed: dict, endpoint_url: str, region: str, edge_url: str) -> dict:
    """The stack's outputs as the local stack presents them: moto's outputs plus the edge's URLs."""
    outputs = {key: deployed.get(key) for key in OUTPUT_KEYS}
    outputs.update(EndpointUrl=endpoint_url, Region=region, DistributionUrl=edge_url, ApiUrl=edge_url + "/api")
    missing = [key for key, value in outputs.items() if not value and key != "NotificationTopicArn"]
    if missing:
        raise RuntimeError(f"the deployed stack has no {', '.join(missing)} output")
    return outputs


def stack_functions(endpoint_url: str, region: str, stack_name: str) -> list[dict]:
    """The configuration of every Lambda function the stack created."""
    cloudformation = moto_client("cloudformation", endpoint_url, region)
    lambda_ = moto_client("lambda", endpoint_url, region)
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    names = [r["PhysicalResourceId"] for r in resources if r.get("ResourceType") == "AWS::Lambda::Function"]
    return [lambda_.get_function_configuration(FunctionName=name) for name in names]


def api_function(functions: list[dict], processing_arn: str) -> dict | None:
    """The function behind the HTTP API: the stack's function that is not the queue's consumer.

    moto does not create the HTTP API, so its integration cannot be asked; the template has exactly two
    functions, and the processing one is known from the event source mapping."""
    others = [f for f in functions if f["FunctionArn"] != processing_arn]
    if len(others) > 1:
        others = [f for f in others if f["Handler"].endswith(".api.lambda_handler")] or others[:1]
    return others[0] if others else None


class FolderInUse(RuntimeError):
    """The folder's stack file describes a stack that is still there: starting another would replace the file."""


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not) that looks like a Python program (so a recycled pid
    of some other program does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's: alive
    except (OSError, OverflowError, TypeError, ValueError):
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read().lower()
    except OSError:
        return True  # no /proc (macOS): what kill answered
    return b"python" in command or b"pixelate" in command


def stack_in_use(folder: str | Path) -> str | None:
    """Why ``folder``'s stack file must not be replaced (a sentence naming the stack), or None when there is no
    file, an unreadable one, or one left by a stack that is gone.

    What the file records decides: the ``pixelate up`` process (``Local.Processes.Supervisor``) while it lives;
    without one (a file from ``pixelate deploy``), a local stack while its moto answers, and a stack on AWS always.
    """
    outputs = read_stack_file(folder)
    if not outputs:
        return None
    path = Path(folder) / STACK_FILE
    endpoint, page = outputs.get("EndpointUrl"), outputs.get("DistributionUrl")
    supervisor = _supervisor_of(outputs)
    if isinstance(supervisor, int) and supervisor != os.getpid():
        if not process_alive(supervisor):
            return None
        return (f"{path} describes a local stack that is still running: `pixelate up` pid {supervisor}, "
                f"page {page}, moto {endpoint}. Stop it first (Ctrl-C in its terminal, or kill {supervisor}), "
                f"or start another stack in another folder")
    if is_local(outputs):
        if not answers(endpoint, timeout=1.0):
            return None
        return (f"{path} describes a local stack whose moto still answers at {endpoint}"
                + (f" (page {page})" if page else "") + ". Stop it first, or start another stack in another folder")
    if outputs.get("OriginalsBucket"):
        return (f"{path} describes the stack deployed to AWS (originals s3://{outputs['OriginalsBucket']}); "
                f"a local stack would replace that file. Start the local stack in another folder")
    return None


def _supervisor_of(outputs: dict):
    """The pid of the ``pixelate up`` process a stack file names (``Local.Processes.Supervisor``), if any."""
    return ((outputs.get("Local") or {}).get("Processes") or {}).get("Supervisor")


class LocalStack:
    """moto + the deployed template + the runner + the edge, as child processes of this one."""

    def __init__(
        self,
        port: int = 0,
        workers: int = 2,
        fault_rate: float = 0.0,
        folder: str | Path | None = None,
        moto_port: int = 0,
        region: str = "us-east-1",
        stack_name: str = "pixelator",
        parameters: dict[str, str] | None = None,
        on_report: Callable[[BatchReport], None] | None = None,
    ):
        self.port = port
        self.requested_workers = workers
        self.workers = workers  # capped by the mapping's MaximumConcurrency once deployed
        self.fault_rate = fault_rate
        self.folder = Path(folder) if folder is not None else None
        self.moto_port = moto_port
        self.region = region
        self.stack_name = stack_name
        self.parameters = dict(parameters or {})
        self.on_report = on_report
        self.outputs: dict = {}
        self.emulation: object = None
        self.settings = None
        self.moto: moto_server.MotoServer | None = None
        self.edge: Edge | None = None
        self.runner: Runner | None = None
        self._wrote_stack_file = False
        self._ready: set[int] = set()
        self._ready_event = threading.Event()
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> "LocalStack":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.check_folder()
        self.moto = moto_server.start(self.moto_port, log_path=self._log("moto.log"))
        self.edge = Edge(self.port, log_path=self._log("edge.log"))
        edge_url = self.edge.start()
        deployed = self._deploy(edge_url)
        self.outputs = local_outputs(deployed, self.moto.url, self.region, edge_url)
        self.settings = read_settings(self.moto.url, self.region, self.outputs["JobQueueUrl"])
        take_over(self.settings)
        self.workers = worker_count(self.requested_workers, self.settings)
        api = api_function(stack_functions(self.moto.url, self.region, self.stack_name), self.settings.function.arn)
        self.edge.configure(EdgeConfig(
            endpoint_url=self.moto.url,
            region=self.region,
            processed_bucket=self.outputs["ProcessedBucket"],
            web_folder=str(web_folder()),
            api=function_settings(api) if api else None,
        ))
        self.runner = Runner(
            self.settings,
            workers=self.workers,
            fault_rate=self.fault_rate,
            on_report=self._on_report,
            on_workers_changed=lambda _pids: self.write_stack_file(),
            log_folder=self._log(""),
        )
        self.runner.start()
        self._wait_for_workers()
        moto_server.wait_until_answers(edge_url + HEALTH_PATH, 30)
        self.check_folder()  # again: another stack may have started in this folder meanwhile, and written first
        self.write_stack_file()

    def check_folder(self) -> None:
        """Raise ``FolderInUse`` when the folder's stack file describes another stack that is still there."""
        if self.folder is None or self._wrote_stack_file:
            return
        reason = stack_in_use(self.folder)
        if reason:
            raise FolderInUse(reason)

    def _wait_for_workers(self) -> None:
        """Until every worker has loaded the handler; fail fast if they keep dying (a broken handler)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self._ready_event.wait(0.2):
            if self.runner.restarts > 2 * self.workers:
                where = f" (see {self._log('')})" if self.folder is not None else ""
                raise RuntimeError(f"the workers exit as soon as they start: the handler cannot be loaded{where}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the workers did not start within {READY_TIMEOUT_S:.0f} s")

    def _log(self, name: str) -> str | None:
        """Where a child's output goes: ``.pixelate/logs/`` of the folder (nowhere without a folder)."""
        if self.folder is None:
            return None
        logs = self.folder / ".pixelate" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        return str(logs / name)

    def _deploy(self, edge_url: str) -> dict:
        # uploads from the edge's page only (the bucket's CORS; moto's global CORS is off: moto_server)
        parameters = {"PublicBaseUrl": edge_url, "AllowedUploadOrigin": edge_url, **self.parameters}
        # The source zip is built in a folder of our own: `pixelate up` leaves nothing in the working folder.
        with tempfile.TemporaryDirectory(prefix="pixelate-up-") as build_dir:
            deployed = deploy_local(self.moto.url, region=self.region, stack_name=self.stack_name,
                                    parameters=parameters, build_dir=build_dir)
        self.emulation = deployed.get("Emulation") or deployed.get("emulation")
        return deployed

    def _on_report(self, report: BatchReport) -> None:
        if report.received == 0:  # a worker's "ready" report
            with self._lock:
                self._ready.add(report.worker)
                if len(self._ready) >= self.workers:
                    self._ready_event.set()
            return
        if self.on_report:
            self.on_report(report)

    def stop(self) -> bool:
        """Stop every child (workers, edge, moto) and remove the stack file if it is still the one this stack
        wrote (True when it was removed); safe to call twice."""
        for part in (self.runner, self.edge, self.moto):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        removed = False
        if self.owns_stack_file():
            with contextlib.suppress(OSError):
                self.stack_file.unlink()
                removed = True
                self.stack_file.parent.rmdir()  # only if empty: the deploy notebook may keep files there
        self._wrote_stack_file = False
        return removed

    def owns_stack_file(self) -> bool:
        """Whether the folder's stack file is the one this stack wrote (not another stack's, nor a deploy's)."""
        if not (self._wrote_stack_file and self.stack_file is not None and self.outputs):
            return False
        known = read_stack_file(self.folder) or {}
        return _supervisor_of(known) == os.getpid() and known.get("EndpointUrl") == self.outputs.get("EndpointUrl")

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what the stack exposes ----------------------------------------------------------------------------

    @property
    def stack_file(self) -> Path | None:
        return self.folder / STACK_FILE if self.folder is not None else None

    @property
    def page_url(self) -> str:
        return self.outputs["DistributionUrl"] + "/"

    @property
    def worker_pids(self) -> list[int]:
        return self.runner.pids if self.runner else []

    def dead_part(self) -> str | None:
        """The name of a part that has exited on its own (moto or the edge), or None while all run.
        Workers are not parts here: the runner replaces a dead worker, as Lambda would."""
        if self.moto is not None and self.moto.process.poll() is not None:
            return f"moto's server (exit code {self.moto.process.returncode})"
        if self.edge is not None and self.edge.process is not None and self.edge.process.poll() is not None:
            return f"the local edge (exit code {self.edge.process.returncode})"
        return None

    def processes(self) -> dict:
        return {
            "Supervisor": os.getpid(),
            "Moto": self.moto.pid if self.moto else None,
            "Edge": self.edge.pid if self.edge else None,
            "Workers": self.worker_pids,
        }

    def stack_document(self) -> dict:
        """What ``.pixelate/stack.json`` holds: the outputs, and under ``Local`` the processes and settings."""
        return {**self.outputs, "Local": {"Processes": self.processes(), "Runner": settings_summary(self.settings)}}

    def write_stack_file(self) -> None:
        """Write (or, when the workers change, rewrite) the folder's stack file; never over another stack's."""
        if self.stack_file is None or not self.outputs:
            return
        if self._wrote_stack_file and self.stack_file.exists() and not self.owns_stack_file():
            print(f"not rewriting {self.stack_file}: it describes another stack now", file=sys.stderr, flush=True)
            return
        write_stack_file(self.stack_document(), self.folder)
        self._wrote_stack_file = True

    def client(self, service: str):
        """A boto3 client for this stack's moto."""
        return moto_client(service, self.outputs["EndpointUrl"], self.region)

