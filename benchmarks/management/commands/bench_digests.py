"""Benchmark the daily digest job end to end on the real parts.

    python manage.py bench_digests [--subscribers 100000] [--papers 1000] [--vocabulary 5000]
                                   [--workers 2] [--concurrency 1] [--batch-size N]
                                   [--scale 10000,100000,1000000] [--profile DIR]

PostgreSQL (a dedicated database, default digest_bench, created and migrated if
missing), Redis db 7 as the broker, N Celery worker processes, and Postfix's
`smtp-sink` on a loopback port as the mail server. Seeding is untimed (COPY).
The timed part is the day's job as `send_digests --date` runs it: from the
start of the build until every digest is sent. The sink's own counter must
then agree with the number of sent rows, or the run fails without a result.

The last line is exactly:
    bench: subscribers=N digests=D seconds=S digests_per_s=R peak_rss_mb=M
where M is the largest peak RSS (VmHWM) of any one process of ours: the
dispatcher (this process, peak reset after seeding) and every worker process,
pool children included.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.core.management.base import BaseCommand, CommandError

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/digest_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
DAY = dt.date(2024, 3, 12)
STAGE_ENV = "BENCH_DIGESTS_STAGE"

# Vocabulary: real ML terms; bigrams are modifier + head, ranked after the
# acronyms and single words, which are the popular ones (Zipf below).
ACRONYMS = (
    "LLM VLM RLHF DPO PPO LoRA QLoRA MoE RAG ViT CLIP BERT GPT T5 GAN VAE NeRF SSM RNN LSTM CNN GNN MLP CoT ASR TTS "
    "OCR NER SLAM SGD BLEU ROUGE FID MMLU ImageNet COCO SAM DINO MAE Mamba RWKV YOLO DETR U-Net ResNet KAN SFT ICL "
    "OOD NAS RL MARL MCTS PINN SDE ODE GFlowNet DDPM DDIM VQA KD HPO AutoML LiDAR"
).split()
UNIGRAMS = (
    "transformer diffusion pretraining retrieval quantization pruning distillation alignment tokenization attention "
    "embeddings hallucination reasoning planning agents robotics segmentation detection tracking captioning "
    "summarization translation speech audio music video 3D point-cloud graph molecule protein genomics weather "
    "climate finance healthcare radiology pathology privacy fairness robustness interpretability explainability "
    "calibration uncertainty benchmark dataset evaluation scaling compression sparsity federated meta-learning "
    "curriculum memory watermarking jailbreak red-teaming safety steering editing unlearning merging routing "
    "adapters prompting instruction-tuning chain-of-thought self-consistency verification theorem-proving code "
    "math tabular time-series forecasting anomaly recommendation ranking search clustering optimization "
    "convergence generalization overparameterization grokking emergence interpretability superposition"
).split()
MODIFIERS = (
    "contrastive self-supervised multimodal federated sparse causal generative neural zero-shot few-shot "
    "in-context long-context efficient robust adversarial hierarchical probabilistic variational bayesian "
    "continual incremental offline online multi-agent multilingual cross-lingual cross-modal vision-language "
    "text-to-image text-to-video open-vocabulary weakly-supervised semi-supervised unsupervised active "
    "differentiable implicit neural-symbolic geometric equivariant spectral temporal spatial dynamic "
    "autoregressive masked latent discrete continuous low-rank mixed-precision quantized distributed "
    "decentralized privacy-preserving fair interpretable verifiable scalable lightweight on-device embodied "
    "interactive open-world domain-adaptive test-time reinforcement retrieval-augmented memory-efficient "
    "compute-optimal data-efficient instruction-tuned human-aligned physics-informed graph-based "
    "attention-based diffusion-based energy-based score-based kernel mixture-of-experts state-space"
).split()
HEADS = (
    "learning attention retrieval distillation alignment segmentation reasoning decoding tokenization "
    "representation pretraining fine-tuning inference training optimization generation detection "
    "classification regression planning control exploration navigation manipulation localization mapping "
    "reconstruction rendering synthesis editing compression quantization pruning search ranking "
    "recommendation forecasting imputation clustering embedding transformers networks models agents "
    "policies priors objectives benchmarks datasets evaluation calibration estimation sampling "
    "augmentation adaptation transfer unlearning watermarking captioning grounding tracking "
    "simulation verification discovery compilation scheduling routing caching hashing denoising"
).split()

FILLER = (
    "We propose {a}, a simple method that improves {b} without extra supervision. "
    "Unlike prior work on {c} and {d}, our approach relies on {e} and scales to billions of tokens. "
    "We show that {f} emerges from {g}, with a $\\mathcal{{O}}(n \\log n)$ cost instead of $O(n^2)$. "
    "Experiments on {h} and {i} show gains of 3.2 points over strong baselines, and ablations isolate the role "
    "of {j}. Code and models are released to foster research on {k} and {l}."
)


def vocabulary(size: int) -> list[str]:
    """`size` distinct ML keywords (distinct after normalization), most popular first."""
    from papers.search import normalize_keyword

    rng = random.Random(7)
    bigrams = [f"{m} {h}" for m in MODIFIERS for h in HEADS]
    rng.shuffle(bigrams)
    out, seen = [], set()
    for term in [*ACRONYMS, *UNIGRAMS, *bigrams]:
        key = normalize_keyword(term)
        if key and key not in seen:
            seen.add(key)
            out.append(term)
        if len(out) == size:
            return out
    raise CommandError(f"--vocabulary {size}: only {len(out)} distinct terms available")


def zipf_cum_weights(n: int, s: float) -> list[float]:
    total, cum = 0.0, []
    for rank in range(1, n + 1):
        total += 1.0 / rank**s
        cum.append(total)
    return cum


def pg_text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        value = json.dumps(value)
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_rows(model, columns: list[str], rows, fixed: dict, now: dt.datetime, chunk: int = 20000) -> int:
    """COPY rows (tuples for `columns`) into model's table; every other column from `fixed` or its default."""
    from django.db import connection

    tail_cols, tail_vals = [], []
    for f in model._meta.concrete_fields:
        if f.attname in columns or (f.primary_key and f.db_returning):  # the database numbers the rest
            continue
        if f.name in fixed:
            value = fixed[f.name]
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.has_default() or (f.empty_strings_allowed and not f.null):
            value = f.get_default()  # "" for text fields without a default
        elif f.null:
            value = None
        else:
            raise CommandError(f"bench seeding does not know how to fill {model.__name__}.{f.name}")
        tail_cols.append(f.column)
        tail_vals.append(pg_text(value))
    cols = [model._meta.get_field(c).column for c in columns] + tail_cols
    tail = ("\t" + "\t".join(tail_vals)) if tail_vals else ""
    sql = f'COPY {model._meta.db_table} ({", ".join(cols)}) FROM STDIN'
    count = 0
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        buf = io.StringIO()
        for row in rows:
            buf.write("\t".join(map(pg_text, row)) + tail + "\n")
            count += 1
            if count % chunk == 0:
                copy.write(buf.getvalue())
                buf = io.StringIO()
        copy.write(buf.getvalue())
    return count


def seed(*, subscribers: int, papers: int, vocab_size: int, day: dt.date, log) -> None:
    """Empty the bench tables and fill them: papers listed on `day`, subscribers with 3 keywords each."""
    from django.core.management.color import no_style
    from django.db import connection

    from papers.models import DailyNote, Listing, Paper
    from papers.search import normalize_keyword
    from subscriptions.models import DeliveryEvent, Digest, Keyword, Subscriber

    t0 = time.monotonic()
    models = [Digest, Keyword, DeliveryEvent, Subscriber, Listing, DailyNote, Paper]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(m._meta.db_table for m in models)} RESTART IDENTITY CASCADE")
    now = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC)
    rng = random.Random(42)
    vocab = vocabulary(vocab_size)
    normalized = [normalize_keyword(t) for t in vocab]
    cum = zipf_cum_weights(len(vocab), 1.0)

    def paper_rows():
        for i in range(1, papers + 1):
            # Popular terms often, plus a few from the long tail, like a real day's listing.
            terms = rng.choices(vocab, cum_weights=cum, k=8) + rng.sample(vocab, 4)
            title = f"{terms[0]} for {terms[1]}: {terms[2].capitalize()} meets {terms[3]}"
            abstract = FILLER.format(**dict(zip("abcdefghijkl", terms, strict=False)))
            authors = [f"Author {rng.randrange(100000)}" for _ in range(rng.randint(2, 8))]
            yield (i, f"2403.{i:05d}", title, " ".join(title.lower().split())[:255], abstract, authors,
                   f"{rng.randint(8, 40)} pages, {rng.randint(2, 12)} figures", ["cs.LG"], day,
                   rng.randint(0, 300), f"https://github.com/bench/repo{i}" if i % 3 == 0 else "")

    copy_rows(Paper, ["id", "arxiv_id", "title", "title_key", "abstract", "authors", "comments", "categories",
                      "published_on", "upvotes", "github_url"], paper_rows(), {}, now)
    copy_rows(Listing, ["paper_id", "rank", "upvotes"],
              ((i, i, rng.randint(0, 300)) for i in range(1, papers + 1)),
              {"listed_on": day, "source": Listing.Source.HF_JSON}, now)
    DailyNote.objects.create(date=day, body="Three **agent** papers today, and a new *benchmark* worth a look.")
    copy_rows(Subscriber, ["id", "email"], ((i, f"reader{i:07d}@bench.example.org") for i in range(1, subscribers + 1)),
              {"status": Subscriber.Status.ACTIVE, "confirmed_at": now, "timezone": "UTC",
               "frequency": Subscriber.Frequency.DAILY}, now)

    def keyword_rows():
        n = 0
        for sub in range(1, subscribers + 1):
            picked: set[int] = set()
            while len(picked) < 3:
                picked.update(rng.choices(range(len(vocab)), cum_weights=cum, k=3 - len(picked)))
            for k in picked:
                n += 1
                yield (n, sub, vocab[k], normalized[k])

    copy_rows(Keyword, ["id", "subscriber_id", "text", "normalized"], keyword_rows(), {}, now)
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)
        cursor.execute("ANALYZE")
    log(f"seeded {subscribers} subscribers x 3 keywords ({len(vocab)}-term vocabulary), {papers} papers "
        f"listed on {day} in {time.monotonic() - t0:.1f}s (untimed)")


# --- the processes we start (and stop, by PID) ----------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """Postfix smtp-sink on a loopback port; -c writes a running `mesg=N` counter to a file we read at the end."""

    def __init__(self, port: int, workdir: Path) -> None:
        exe = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        if not os.access(exe, os.X_OK):
            raise CommandError("smtp-sink not found: run `make system-deps` (Debian package postfix)")
        # As root smtp-sink insists on dropping privileges (-u) after binding.
        cmd = [exe, "-c", *(["-u", "nobody"] if os.geteuid() == 0 else []), f"127.0.0.1:{port}", "1000"]
        self.port, self.counter = port, workdir / "smtp-sink.out"
        with open(self.counter, "wb") as out:  # a file, not a pipe: reading it costs nothing during the run
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise CommandError(f"smtp-sink did not start on 127.0.0.1:{port}")

    @property
    def count(self) -> int:
        with open(self.counter, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 256))
            found = re.findall(rb"mesg=(\d+)", f.read())
        return int(found[-1]) if found else 0

    def wait_count(self, at_least: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (count := self.count) < at_least and time.monotonic() < deadline:
            time.sleep(0.2)
        return count

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def parents() -> dict[int, int]:
    """{pid: parent pid} of every process, from one walk of /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    found[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return found


def children_of(pid: int, ppids: dict[int, int] | None = None) -> list[int]:
    return [kid for kid, parent in (ppids or parents()).items() if parent == pid]


def vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy_seconds() -> float:
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class RssSampler(threading.Thread):
    """Polls peak RSS (VmHWM) and CPU time of our processes, and the CPU of the services they use.

    `roots` are ours: {label: (pid, include descendants)}. `services` are shared
    processes matched by command line ({label: substring}), e.g. the PostgreSQL
    backends serving the bench database; only their CPU is reported.
    """

    def __init__(self, roots: dict[str, tuple[int, bool]], services: dict[str, tuple[str, ...]],
                 interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.roots, self.services, self.interval = roots, services, interval
        self.peak_kb: dict[str, int] = {}
        self.label: dict[int, str] = {}
        self.cpu_first: dict[int, float] = {}
        self.cpu_last: dict[int, float] = {}
        self._halt = threading.Event()
        self._primed = False
        self._rounds = 0
        self.sample()
        self._primed = True

    def _see(self, label: str, pid: int) -> None:
        cpu = cpu_seconds(pid)
        if pid not in self.cpu_first:
            # A process born during the run used all of its CPU inside the run.
            self.cpu_first[pid] = 0.0 if self._primed else cpu
        self.label[pid] = label
        self.cpu_last[pid] = max(self.cpu_last.get(pid, 0.0), cpu)

    def sample(self, *, discover: bool | None = None) -> None:
        # Walking all of /proc is the expensive part: do it every 10th round; in
        # between re-read the processes already found (pool children live long).
        discover = self._rounds % 10 == 0 if discover is None else discover
        self._rounds += 1
        if not discover:
            for pid, label in list(self.label.items()):
                if label in self.services:
                    self._see(label, pid)
                elif hwm := vm_hwm_kb(pid):
                    self.peak_kb[label] = max(self.peak_kb.get(label, 0), hwm)
                    self._see(label, pid)
            return
        ppids = parents()
        for name, (root, recurse) in self.roots.items():
            todo = [(name, root)]
            while todo:
                label, pid = todo.pop()
                hwm = vm_hwm_kb(pid)
                if hwm:
                    self.peak_kb[label] = max(self.peak_kb.get(label, 0), hwm)
                    self._see(label, pid)
                if recurse:
                    todo += [(f"{label}.{kid}", kid) for kid in children_of(pid, ppids)]
        for pid in ppids:
            if pid in self.label and self.label[pid] not in self.services:
                continue  # one of ours, already counted
            cmd = cmdline(pid)
            for label, needles in self.services.items():
                if any(needle in cmd for needle in needles):
                    self._see(label, pid)
                    break

    def cpu(self, *labels: str) -> float:
        return sum(self.cpu_last[p] - self.cpu_first[p] for p, label in self.label.items()
                   if label in labels or label.split(".")[0] in labels)

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        self.sample(discover=True)


class Workers:
    """`--workers` celery worker processes; with --profile each runs the solo pool under cProfile."""

    def __init__(self, *, count: int, concurrency: int, pool: str, logdir: Path, profile_dir: Path | None) -> None:
        self.procs: list[subprocess.Popen] = []
        self.names = [f"bench{i}-{os.getpid()}" for i in range(count)]
        self.logs = [logdir / f"{name}.log" for name in self.names]
        for name, log in zip(self.names, self.logs, strict=True):
            if profile_dir:
                head = [sys.executable, "-m", "cProfile", "-o", str(profile_dir / f"{name}.prof"), "-m", "celery"]
                pool_args = ["--pool", "solo"]
            else:
                head = [str(Path(sys.executable).with_name("celery"))]
                pool_args = ["--pool", pool, "-c", str(concurrency)]
            cmd = [*head, "-A", "digest_site", "worker", *pool_args, "-Q", "celery", "-l", "info", "-n", f"{name}@%h",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]
            with open(log, "wb") as out:
                self.procs.append(subprocess.Popen(cmd, env=os.environ.copy(), stdout=out, stderr=subprocess.STDOUT))

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for name, log, proc in zip(self.names, self.logs, self.procs, strict=True):
            while not re.search(rf"{re.escape(name)}@\S+ ready\.", log.read_text(errors="replace")):
                if proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    tail = log.read_text(errors="replace")[-3000:]
                    raise CommandError(f"worker {name} did not start; its log:\n{tail}")
                time.sleep(0.1)

    def stop(self) -> None:
        kids = {p.pid: children_of(p.pid) for p in self.procs}
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in [*children_of(p.pid), p.pid]:
                    os.kill(pid, signal.SIGKILL)
                p.wait()
            for pid in kids[p.pid]:  # pool children die with their parent; make sure (if it is still ours)
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if b"celery" in f.read():
                            os.kill(pid, signal.SIGKILL)
                except (OSError, ProcessLookupError):
                    pass


# --- the command ------------------------------------------------------------------------


def positive_ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise CommandError(f"--scale {text!r}: give comma-separated subscriber counts, e.g. 10000,100000") from None
    if not values or min(values) < 1:
        raise CommandError(f"--scale {text!r}: counts must be positive")
    return values


class Command(BaseCommand):
    help = "Benchmark the daily digest job end to end (PostgreSQL, Redis, Celery workers, Postfix smtp-sink)."

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=100_000)
        parser.add_argument("--papers", type=int, default=1000)
        parser.add_argument("--vocabulary", type=int, default=5000)
        parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
        parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker (default 1)")
        parser.add_argument("--pool", choices=["prefork", "solo", "threads"], default="prefork")
        parser.add_argument("--batch-size", type=int, default=None,
                            help="digests per send task (default: the service's)")
        parser.add_argument("--scale", default="", help="run several sizes in a row, e.g. 10000,100000,1000000")
        parser.add_argument("--date", type=dt.date.fromisoformat, default=DAY, help=f"digest date (default {DAY})")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the day's job")
        parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
        parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
        parser.add_argument("--profile", type=Path, default=None,
                            help="write cProfile stats of the dispatcher and of each worker (solo pool) into DIR")

    def handle(self, **o):
        sizes = positive_ints(o["scale"]) if o["scale"] else [o["subscribers"]]
        if min(o["papers"], o["vocabulary"], o["workers"], o["concurrency"]) < 1:
            raise CommandError("--papers, --vocabulary, --workers and --concurrency must be at least 1")
        if os.environ.get(STAGE_ENV) != "run":
            return self.reexec(o)
        self.check_stage(o)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        from django.db import connection

        with connection.cursor() as cursor:  # held until we exit: two benches on one database spoil each other
            cursor.execute("SELECT pg_try_advisory_lock(hashtext('bench_digests'))")
            if not cursor.fetchone()[0]:
                raise CommandError(f"another bench_digests is running on {connection.settings_dict['NAME']}; "
                                   "wait for it or use --database-url and --redis-url of your own")
        sink = SmtpSink(int(os.environ["BENCH_SINK_PORT"]), Path(tempfile.mkdtemp(prefix="bench_digests-sink-")))
        results = []
        try:
            for n in sizes:
                results.append(self.run_once(n, o, sink))
                if n != sizes[-1]:
                    self.stdout.write(results[-1][1])
        finally:
            sink.stop()
        if len(results) > 1:
            (d0, s0), _ = results[0]
            self.stdout.write("scale: " + "; ".join(
                f"N={n} {1000 * s / d:.3f}s per 1k digests ({s / s0:.1f}x the time for {d / d0:.1f}x the digests)"
                for n, ((d, s), _) in zip(sizes, results, strict=True)))
        self.stdout.write(results[-1][1])

    def reexec(self, o) -> None:
        """Start over in a fresh process whose settings point at the bench database, broker and sink."""
        parts = urlsplit(o["database_url"])
        name = parts.path.lstrip("/")
        if parts.scheme not in ("postgres", "postgresql", "pgsql") or not name:
            raise CommandError(f"--database-url {o['database_url']!r}: the benchmark needs a PostgreSQL database")
        if "bench" not in name:
            raise CommandError(f"--database-url: refusing to empty {name!r}; use a dedicated database named *bench*")
        import psycopg
        import redis

        admin = urlunsplit(("postgresql",) + tuple(parts[1:2]) + ("/postgres", "", ""))
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                    conn.execute(f'CREATE DATABASE "{name}"')
                    self.stderr.write(f"created database {name}")
        except psycopg.Error as exc:
            raise CommandError(f"PostgreSQL at {parts.hostname}:{parts.port or 5432}: {exc}") from exc
        try:
            redis.Redis.from_url(o["redis_url"], socket_connect_timeout=2).ping()
        except Exception as exc:
            raise CommandError(f"Redis at {o['redis_url']}: {exc}") from exc
        port = free_port()
        env = {**os.environ, STAGE_ENV: "run", "BENCH_SINK_PORT": str(port), "DATABASE_URL": o["database_url"],
               "CELERY_BROKER_URL": o["redis_url"], "EMAIL_URL": f"smtp://127.0.0.1:{port}"}
        env.pop("CELERY_RESULT_BACKEND", None)
        argv = [sys.executable, str(Path(__file__).resolve().parents[3] / "manage.py"), "bench_digests"]
        for key in ("subscribers", "papers", "vocabulary", "workers", "concurrency", "pool", "batch_size", "scale",
                    "date", "timeout", "database_url", "redis_url", "profile"):
            if o[key] not in (None, ""):
                argv += [f"--{key.replace('_', '-')}", str(o[key])]
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, argv, env)

    def check_stage(self, o) -> None:
        from django.conf import settings

        if settings.CELERY_TASK_ALWAYS_EAGER or o["redis_url"] != settings.CELERY_BROKER_URL:
            raise CommandError("bench_digests: the broker settings did not take (CELERY_BROKER_URL)")
        if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
            raise CommandError("bench_digests: the database settings did not take (DATABASE_URL)")

    def run_once(self, n: int, o, sink: SmtpSink) -> tuple[tuple[int, float], str]:
        import redis
        from django.conf import settings

        from subscriptions.models import Digest

        seed(subscribers=n, papers=o["papers"], vocab_size=o["vocabulary"], day=o["date"], log=self.stderr.write)
        redis.Redis.from_url(o["redis_url"]).flushdb()
        try:  # forget the seeding's peak: we report the day's job
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.stderr.write("note: could not reset this process's peak RSS; it includes seeding")
        logdir = Path(tempfile.mkdtemp(prefix="bench_digests-"))
        if o["profile"]:
            o["profile"].mkdir(parents=True, exist_ok=True)
        workers = Workers(count=o["workers"], concurrency=o["concurrency"], pool=o["pool"], logdir=logdir,
                          profile_dir=o["profile"])
        try:
            workers.wait_ready()
            roots = {"dispatcher": (os.getpid(), False), "smtp-sink": (sink.proc.pid, False)}
            roots.update({f"worker{i}": (p.pid, True) for i, p in enumerate(workers.procs)})
            db = settings.DATABASES["default"]["NAME"]
            sampler = RssSampler(roots, {
                f"postgres({db})": (f" {db} ",),
                "postgres(background)": ("walwriter", "checkpointer", "background writer", "autovacuum"),
                "redis-server": ("redis-server",),
            })
            sampler.start()
            load_before, busy0, sent_before = os.getloadavg()[0], machine_busy_seconds(), sink.count
            t0 = time.monotonic()
            counts = self.run_day(o)
            seconds = time.monotonic() - t0
            busy = machine_busy_seconds() - busy0
            received = sink.wait_count(sent_before + counts.sent, timeout=30) - sent_before
            sampler.stop()
        finally:
            workers.stop()
        rows_sent = Digest.objects.filter(digest_date=o["date"], status=Digest.Status.SENT).count()
        if not (received == counts.sent == rows_sent) or counts.sent == 0:
            raise CommandError(f"delivery mismatch: sent={counts.sent} rows_sent={rows_sent} sink_received={received} "
                               f"(worker logs in {logdir})")
        shutil.rmtree(logdir, ignore_errors=True)
        ours = {k: v for k, v in sampler.peak_kb.items() if k != "smtp-sink"}
        peak_mb = max(ours.values()) / 1024
        workers_cpu = sampler.cpu(*(f"worker{i}" for i in range(o["workers"])))
        services = {label: sampler.cpu(label) for label in sampler.services}
        accounted = sampler.cpu("dispatcher") + workers_cpu + sampler.cpu("smtp-sink") + sum(services.values())
        self.stderr.write(f"counts: {counts}")
        self.stderr.write("rss_mb: " + " ".join(f"{k}={v / 1024:.0f}" for k, v in sorted(sampler.peak_kb.items())))
        self.stderr.write(
            f"cpu_s: dispatcher={sampler.cpu('dispatcher'):.1f} workers={workers_cpu:.1f} "
            f"smtp-sink={sampler.cpu('smtp-sink'):.1f} "
            + " ".join(f"{label}={v:.1f}" for label, v in services.items())
            + f" others={busy - accounted:.1f} machine_busy={busy:.1f} wall={seconds:.1f} "
            f"load_before={load_before:.2f} load_after={os.getloadavg()[0]:.2f}")
        line = (f"bench: subscribers={n} digests={counts.sent} seconds={seconds:.1f} "
                f"digests_per_s={counts.sent / seconds:.0f} peak_rss_mb={peak_mb:.0f}")
        return (counts.sent, seconds), line

    def run_day(self, o):
        """The same call `send_digests --date` makes; under cProfile with --profile."""
        import inspect

        from digests.services.day import digests_run_day

        kwargs = dict(digest_date=o["date"], wait=True, timeout=o["timeout"])
        if o["batch_size"]:
            if "batch_size" not in inspect.signature(digests_run_day).parameters:
                raise CommandError("--batch-size: digests_run_day() takes no batch_size")
            kwargs["batch_size"] = o["batch_size"]
        if not o["profile"]:
            return digests_run_day(**kwargs)
        import cProfile

        profiler = cProfile.Profile()
        try:
            return profiler.runcall(digests_run_day, **kwargs)
        finally:
            profiler.dump_stats(str(o["profile"] / "dispatcher.prof"))
