"""Online generation: a generator process streams samples to a training job through a folder.

A *stream folder* is a generation output folder (the engine's shard, written by
:class:`~mmdatasetdm.generation.writers.ShardWriter`) plus two small state files::

    shards/rank00000/           the shard: sample files, parts/{index:08d}.json (manifest lines)
    generator.json              the generator's state, written by the generator
    consumer.json               the training side's position, written by the training job

Positions. The generator writes samples in index order; *stream position* ``k``
is the ``k``-th ACCEPTED sample of the run (rejected samples have a part file
but no position). Generation is deterministic, so position ``k`` names the same
sample in every run of one configuration, and equals the ``k``-th accepted
sample of a fixed set generated with that configuration.

The consumer writes ``consumer.json`` atomically: ``requested`` (every stream
position below it has been requested by the data loader), ``consumed`` (every
position below it has been trained on), ``pruned_below`` (the files of every
sample before this position were deleted) and ``finished``. The generator polls
it and starts a batch only when its accepted samples will not exceed
``requested + window`` (:func:`run_stream`); the consumer deletes the files of
the samples it passed (:func:`prune_files`); the part files (the provenance)
stay.
"""
import bisect
import os
import os.path as osp
import socket
import time
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from mmdatasetdm.fileio import atomic_write_json, completed_indices, list_shard_dirs, read_json
from mmdatasetdm.fileio.synthetic_format import part_file

GENERATOR_STATE = 'generator.json'
CONSUMER_STATE = 'consumer.json'
# the files of a stream folder besides the engine's own
STREAM_ENTRIES = (GENERATOR_STATE, CONSUMER_STATE)
# accepted samples the generator may run ahead, and seconds without a consumer before it stops
DEFAULT_WINDOW = 64
DEFAULT_IDLE_TIMEOUT = 1800.0


def read_state(stream_dir: str, name: str) -> Optional[dict]:
    """A state file of a stream folder (``generator.json``/``consumer.json``), or None."""
    path = osp.join(stream_dir, name)
    if not osp.isfile(path):
        return None
    return read_json(path)


def write_state(stream_dir: str, name: str, state: dict) -> None:
    """Write a state file atomically (readers never see half a file)."""
    atomic_write_json(osp.join(stream_dir, name), dict(state, time=time.time()))


def process_alive(state: Optional[dict]) -> bool:
    """Whether a generator state names a live process on this host."""
    if not state or state.get('state') != 'running' or state.get('host') != socket.gethostname():
        return False
    try:
        os.kill(int(state['pid']), 0)
    except (OSError, KeyError, TypeError, ValueError):
        return False
    return True


class StreamIndex:
    """Stream positions -> samples, read from the part files as they appear.

    Part files are read in index order and never again (each ~1 kB), so
    resolving position ``k`` costs one read per new sample.

    Args:
        stream_dir (str): the stream folder.
    """

    def __init__(self, stream_dir: str):
        self.dir = str(stream_dir)
        self.samples: List[Tuple[int, str, dict]] = []  # (index, shard folder, part)
        self.next_index = 0  # every sample index below has been read
        self.rejected_files: List[Tuple[int, str, dict]] = []  # keep_rejected runs only
        self._shards: List[str] = []
        self._pruned_index = 0  # files of every sample index below were deleted

    def __len__(self) -> int:
        return len(self.samples)

    def _find(self, index: int) -> Optional[Tuple[str, str]]:
        for attempt in range(2):
            for folder in self._shards:
                path = part_file(folder, index)
                if osp.isfile(path):
                    return folder, path
            if attempt == 0:
                self._shards = list_shard_dirs(self.dir)
        return None

    def refresh(self, max_position: Optional[int] = None,
                max_index: Optional[int] = None) -> int:
        """Read the parts written since the last call, in index order.

        Args:
            max_position (int, optional): stop once this position is known.
            max_index (int, optional): read no sample index at or above it.

        Returns:
            int: the number of accepted samples known (positions ``0..n-1``).
        """
        while max_position is None or len(self.samples) <= max_position:
            if max_index is not None and self.next_index >= max_index:
                break
            found = self._find(self.next_index)
            if found is None:
                break
            part = read_json(found[1])
            line = part['manifest']
            if line['accepted']:
                self.samples.append((self.next_index, found[0], part))
            elif line.get('files'):
                self.rejected_files.append((self.next_index, found[0], line['files']))
            self.next_index += 1
        return len(self.samples)

    def has(self, index: int) -> bool:
        """Whether sample ``index``'s part file exists."""
        return self._find(index) is not None

    def prune_files(self, below: int) -> int:
        """Delete the files of every sample before stream position ``below``.

        Rejected samples in between lose theirs too (``keep_rejected`` runs);
        part files stay. Positions must have been read (:meth:`refresh`).

        Args:
            below (int): the first position whose files are kept.

        Returns:
            int: the number of files deleted.
        """
        below = min(below, len(self.samples))
        if below <= 0:
            return 0
        limit = self.samples[below - 1][0] + 1  # sample indices below it lose their files
        if limit <= self._pruned_index:
            return 0
        victims = [(f, p['manifest']['files']) for i, f, p in self.samples
                   if self._pruned_index <= i < limit]
        victims += [(f, files) for i, f, files in self.rejected_files
                    if self._pruned_index <= i < limit]
        removed = 0
        for folder, files in victims:
            for rel in files.values():
                try:
                    os.remove(osp.join(folder, rel))
                    removed += 1
                except FileNotFoundError:
                    pass
        self._pruned_index = limit
        return removed


def run_stream(engine, out_dir: str, window: int, num_samples: int, poll_interval: float = 0.5,
               idle_timeout: Optional[float] = None,
               log: Optional[Callable[[str], None]] = print,
               command: Optional[Sequence[str]] = None) -> dict:
    """Generate into a stream folder, at most ``window`` accepted samples ahead of the consumer.

    Batches of consecutive indices are generated in order (the engine's own
    batches of one rank, so the samples equal a fixed run's). Before a batch,
    the generator waits until ``accepted + batch_size <= requested + window``
    (``requested`` from ``consumer.json``). It stops once ``num_samples``
    samples are accepted, when the consumer writes ``finished``, or after
    ``idle_timeout`` seconds without a new consumer position. An existing
    stream folder of the same run is resumed; one of another run is refused
    by the engine's run-identity checks.

    Args:
        engine (GenerationEngine): an engine built with ``num_samples=None``
            (open-ended prompts).
        out_dir (str): the stream folder.
        window (int): accepted samples the generator may run ahead; at least
            twice the engine's batch size.
        num_samples (int): accepted samples to generate in all.
        poll_interval (float): seconds between reads of ``consumer.json``.
        idle_timeout (float, optional): stop after this long without progress
            of the consumer.
        log (callable, optional): where progress lines go.
        command (Sequence[str], optional): the command line that started the
            generator, recorded for the stream's dataset card.

    Returns:
        dict: ``state`` (``finished``/``stopped``), ``accepted``, ``generated``,
        ``busy_s`` (seconds spent generating), ``waited_s`` and ``samples_per_s``
        (generated samples per busy second).
    """
    batch = engine.batch_size
    if window < 2 * batch:
        raise ValueError(f'window ({window}) must be at least twice the generation batch size '
                         f'({batch}), so a batch always fits while the consumer waits')
    if num_samples <= 0:
        raise ValueError(f'num_samples must be positive, got {num_samples}')
    try:
        os.makedirs(out_dir, exist_ok=True)
        if set(os.listdir(out_dir)) <= set(STREAM_ENTRIES):
            engine._writer(out_dir, 0)  # a new stream (the consumer may have written first)
        # the run-identity checks: a folder of another run is refused
        engine.check_output(out_dir)
        engine._writer(out_dir, 0)
    except BaseException as err:
        mark_failed(out_dir, err)
        raise
    index = StreamIndex(out_dir)
    done_before = sorted(completed_indices(*list_shard_dirs(out_dir)))
    stats = dict(state='running', pid=os.getpid(), host=socket.gethostname(), window=window,
                 num_samples=num_samples, batch_size=batch, accepted=0, next_index=0,
                 generated=0, busy_s=0.0, waited_s=0.0, error=None)
    clock = dict(busy_since=time.time())

    def publish(**kw):
        stats.update(kw)
        write_state(out_dir, GENERATOR_STATE, stats)

    def wait_for_room(accepted: int) -> bool:
        seen, since = None, time.time()
        while True:
            consumer = read_state(out_dir, CONSUMER_STATE) or {}
            if consumer.get('finished'):
                return False
            if accepted + batch <= int(consumer.get('requested', 0)) + window:
                return True
            key = (consumer.get('requested'), consumer.get('consumed'), consumer.get('time'))
            if key != seen:
                seen, since = key, time.time()
            elif idle_timeout is not None and time.time() - since > idle_timeout:
                raise TimeoutError(f'{osp.join(out_dir, CONSUMER_STATE)} did not change for '
                                   f'{idle_timeout:.0f} s: the consumer is gone')
            time.sleep(poll_interval)

    def batches() -> Iterator[List[int]]:
        start = 0
        while True:
            indices = list(range(start, start + batch))
            accepted = index.refresh(max_index=start)
            now = time.time()
            stats['busy_s'] += now - clock['busy_since']
            # samples of this run so far: the indices below `start` it did not find written
            generated = start - bisect.bisect_left(done_before, start)
            publish(accepted=accepted, next_index=start, generated=generated)
            if accepted >= num_samples:
                stats['state'] = 'finished'
                return
            if not all(index.has(i) for i in indices) and not wait_for_room(accepted):
                stats['state'] = 'stopped'
                return
            stats['waited_s'] += time.time() - now
            clock['busy_since'] = time.time()
            if log is not None and start and start % (batch * 16) == 0:
                rate = generated / max(stats['busy_s'], 1e-9)
                log(f'stream {out_dir}: {accepted} accepted, next index {start}, '
                    f'{rate:.2f} samples/s while generating, waited {stats["waited_s"]:.0f} s')
            yield indices
            start += batch

    publish()
    try:
        engine.run(out_dir, resume=True, progress=False, batches=batches(), command=command)
    except BaseException as err:
        mark_failed(out_dir, err)
        raise
    stats['samples_per_s'] = stats['generated'] / max(stats['busy_s'], 1e-9)
    publish()
    write_card(out_dir, log)
    return dict(stats)


def write_card(out_dir: str, log: Optional[Callable[[str], None]] = print) -> None:
    """Write the stream folder's dataset card; a failure is logged, not raised: the samples
    were delivered, and ``tools/misc/write_dataset_card.py DIR`` writes the card later."""
    from .card import write_stream_card
    try:
        write_stream_card(out_dir)
    except Exception as err:  # noqa: BLE001 - reported, and the stream's state stays valid
        message = (f'stream {out_dir}: its dataset card could not be written '
                   f'({type(err).__name__}: {err}); run tools/misc/write_dataset_card.py '
                   f'{out_dir}')
        if log is not None:
            log(message)
        else:
            import warnings
            warnings.warn(message)


def mark_failed(out_dir: str, err: BaseException) -> None:
    """Record a generator's error in ``generator.json`` (consumers waiting on the stream raise
    it), unless another live generator owns the folder."""
    state = read_state(out_dir, GENERATOR_STATE) if osp.isdir(out_dir) else None
    if not osp.isdir(out_dir) or (process_alive(state) and state.get('pid') != os.getpid()):
        return
    write_state(out_dir, GENERATOR_STATE, dict(
        state='failed', pid=os.getpid(), host=socket.gethostname(),
        error=f'{type(err).__name__}: {err}'))


def generate_stream(cfg, out_dir: str, window: int, num_samples: int,
                    device: Optional[str] = None, idle_timeout: Optional[float] = None,
                    overwrite: bool = False, log: Optional[Callable[[str], None]] = print,
                    command: Optional[Sequence[str]] = None) -> dict:
    """Build the engine of a generation config and stream into ``out_dir`` (one process).

    What ``tools/generate.py CONFIG --stream`` and ``python -m
    mmdatasetdm.generation.stream`` run. A failure is written to the stream
    folder's ``generator.json`` so that a waiting training job stops at once.

    Args:
        cfg (mmengine.Config): a generation config (``decoder``, ``prompts``,
            ``sampling``, ``filters``, ``writer``, ``batch_size``, ``task``).
        out_dir (str): the stream folder.
        window (int): see :func:`run_stream`.
        num_samples (int): accepted samples to generate in all.
        device (str, optional): overrides the config's ``device``.
        idle_timeout (float, optional): see :func:`run_stream`.
        overwrite (bool): empty the folder first.
        log (callable, optional): where progress lines go.
        command (Sequence[str], optional): see :func:`run_stream`.

    Returns:
        dict: the statistics of :func:`run_stream`.
    """
    import signal
    import sys

    from .engine import GenerationEngine

    # a SIGTERM (the training job stopping its generator) ends the run through its error path
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        engine = GenerationEngine.from_config(cfg, None, device)
        if overwrite:
            engine.empty_output(out_dir)
    except BaseException as err:
        mark_failed(out_dir, err)
        raise
    return run_stream(engine, out_dir, window=window, num_samples=num_samples,
                      idle_timeout=idle_timeout, log=log, command=command)


def main(argv=None) -> None:
    """``python -m mmdatasetdm.generation.stream CONFIG --out DIR --window W --num N``: the
    generator process that :class:`~mmdatasetdm.engine.OnlineGenerationHook` starts (the
    same as ``tools/generate.py CONFIG --stream``)."""
    import argparse
    import json
    import sys

    from mmengine.config import Config, DictAction
    parser = argparse.ArgumentParser(description='Stream synthetic samples to a training job')
    parser.add_argument('config', help='generation config file')
    parser.add_argument('--out', required=True, help='the stream folder')
    parser.add_argument('--window', type=int, default=DEFAULT_WINDOW)
    parser.add_argument('--num', type=int, required=True, help='accepted samples in all')
    parser.add_argument('--device', help='cpu, cuda, cuda:1 ... (overrides device)')
    parser.add_argument('--idle-timeout', type=float, default=DEFAULT_IDLE_TIMEOUT)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    try:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
    except BaseException as err:  # the training job waits on generator.json: tell it now
        mark_failed(args.out, err)
        raise
    stats = generate_stream(cfg, args.out, args.window, args.num, device=args.device,
                            idle_timeout=args.idle_timeout or None,
                            log=lambda line: print(line, flush=True),
                            command=sys.argv if argv is None else
                            ['-m', __spec__.name if __spec__ else __name__] + list(argv))
    print(f'stream {osp.abspath(args.out)}: {json.dumps(stats)}', flush=True)


if __name__ == '__main__':
    main()
