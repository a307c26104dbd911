"""Run the generator beside a training job and keep it fed with the consumer's position."""
import atexit
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from torch.utils.data import BatchSampler

from mmdatasetdm.fileio import atomic_write_text
from mmdatasetdm.generation.stream import (CONSUMER_STATE, DEFAULT_IDLE_TIMEOUT, GENERATOR_STATE,
                                           StreamIndex, process_alive, read_state, write_card,
                                           write_state)
from mmdatasetdm.registry import HOOKS

# the generator process: this package's own entry point (what tools/generate.py --stream runs)
GENERATOR_MODULE = 'mmdatasetdm.generation.stream'


class _SkipBatches:
    """The loop's data iterator, answering the first ``skip`` draws with None.

    mmengine's ``IterBasedTrainLoop`` skips the batches of a resumed run by
    drawing them; the sampler already starts at the resumed position, so
    these draws need not load (or wait for) anything.
    """

    def __init__(self, inner, skip: int):
        self.inner, self.skip = inner, skip

    def __iter__(self):
        return self

    def __next__(self):
        if self.skip > 0:
            self.skip -= 1
            return None
        return next(self.inner)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@HOOKS.register_module()
class OnlineGenerationHook(Hook):
    """Online generation: start the generator, write the consumer position, record provenance.

    Needs a train dataloader with ``sampler=dict(type='mmdatasetdm.StreamSampler')``
    over a :class:`~mmdatasetdm.datasets.StreamingSyntheticDataset` (alone or in
    a ``ConcatDataset`` with the real set), the default batch sampler, and an
    iteration-based loop (``IterBasedTrainLoop``).

    * ``before_train``: starts ``tools/generate.py config --stream`` as a
      subprocess (``start=True``; a generator of this stream already running
      on this host is reused), or expects one started elsewhere with the same
      config. A resumed run moves the sampler to its position and makes the
      loop's skipping of the trained batches free.
    * When the sampler starts a block and after each iteration:
      ``consumer.json`` gets ``requested`` (the stream positions the data
      loader asked for, counted in the main process, so workers do not
      matter) and ``consumed`` (those trained on).
    * After each iteration: the files of the samples more than ``window``
      positions behind ``consumed`` are deleted (with ``keep_for_resume``, not
      those a resume from the last checkpoint reads); one line per iteration
      goes to ``{work_dir}/{provenance}``: the dataset indices of the batch and,
      for stream samples, (position, generation index, prompt).
    * ``after_run``: tells the generator to stop (``finished``), waits for it,
      and (re)writes the stream folder's dataset card
      (:func:`mmdatasetdm.generation.card.write_stream_card`) with the final
      consumer position, also when the generator ran elsewhere.

    Args:
        config (str, optional): the generation config (required with ``start``).
        start (bool): start the generator here; False when it runs elsewhere
            (``tools/generate.py CONFIG --stream --out STREAM --window W --num N``).
        device (str): the generator's device (``cpu``, ``cuda:1`` ...).
        cfg_options (dict, optional): ``--cfg-options`` of the generator.
        env (dict, optional): environment variables of the generator (e.g.
            ``CUDA_VISIBLE_DEVICES``, ``OMP_NUM_THREADS``).
        idle_timeout (float): the generator stops after this many seconds
            without a new consumer position (a killed training job).
        stop_timeout (float): seconds to wait for the generator at the end
            before terminating it.
        keep_for_resume (bool): keep the files a resume from the last
            checkpoint needs (else disk holds at most ``window`` passed samples
            but only a resume within them works).
        provenance (str): the provenance file in the work dir.
        log_file (str): the generator's output, in the work dir.
        script (str, optional): a generation script taking ``tools/generate.py``'s
            ``--stream`` arguments; default ``python -m mmdatasetdm.generation.stream``.
    """

    priority = 'NORMAL'  # before CheckpointHook in after_train_iter

    def __init__(self, config: Optional[str] = None, start: bool = True, device: str = 'cpu',
                 cfg_options: Optional[Dict] = None, env: Optional[Dict[str, str]] = None,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT, stop_timeout: float = 120.0,
                 keep_for_resume: bool = True, provenance: str = 'stream_provenance.jsonl',
                 log_file: str = 'generator.log', script: Optional[str] = None):
        if start and not config:
            raise ValueError('OnlineGenerationHook(start=True) needs the generation config')
        self.config = config
        self.start = start
        self.device = device
        self.cfg_options = dict(cfg_options or {})
        self.env = {k: str(v) for k, v in (env or {}).items()}
        self.idle_timeout = idle_timeout
        self.stop_timeout = stop_timeout
        self.keep_for_resume = keep_for_resume
        self.provenance = provenance
        self.log_file = log_file
        self.script = script
        self.process = None
        self.sampler = None
        self._resumed_seed = None

    # ------------------------------------------------------------ setup
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._resumed_seed = (checkpoint.get('meta', {}).get('stream') or {}).get('seed')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.sampler is None:
            return
        items = checkpoint['meta']['iter'] * self.batch_items
        # a resume from this checkpoint reads from here on: keep those files
        self._resume_floor = self.sampler.stream_frontier(items)
        checkpoint['meta']['stream'] = dict(seed=self.sampler.seed, items=items,
                                            stream_dir=self.stream.stream_dir)

    def before_train(self, runner) -> None:
        from mmdatasetdm.datasets.streaming import StreamSampler
        loop = runner.train_loop
        loader = loop.dataloader
        sampler = loader.sampler
        if not isinstance(sampler, StreamSampler):
            raise TypeError('OnlineGenerationHook needs train_dataloader.sampler='
                            "dict(type='mmdatasetdm.StreamSampler'), got "
                            f'{type(sampler).__name__}')
        if type(loader.batch_sampler) is not BatchSampler:
            raise TypeError('OnlineGenerationHook needs the default batch sampler (the position '
                            'of iteration i is i * batch_size), got '
                            f'{type(loader.batch_sampler).__name__}; set batch_sampler=None')
        self.sampler, self.stream = sampler, sampler.stream
        self.window = self.stream.window
        if self._resumed_seed is not None:
            sampler.seed = int(self._resumed_seed)
            sampler._cache = {}
        self.batch_items = loader.batch_size * sampler.world_size
        needed = runner.max_iters * self.batch_items
        if needed > sampler.total:
            raise ValueError(
                f'{runner.max_iters} iterations of {self.batch_items} samples need {needed} '
                f'items but the stream gives {sampler.total} ({len(self.stream)} streamed + '
                'their real share): raise the StreamingSyntheticDataset\'s num_samples')
        start_items = runner.iter * self.batch_items
        start = sampler.stream_frontier(start_items)
        old = read_state(self.stream.stream_dir, CONSUMER_STATE) or {}
        self._pruned_below = int(old.get('pruned_below', 0))
        if self._pruned_below > start:
            raise RuntimeError(
                f'stream {self.stream.stream_dir} was read up to position '
                f'{old.get("consumed")} by a training run that deleted the files before position '
                f'{self._pruned_below}; this run starts at position {start} (iteration '
                f'{runner.iter}): use a new stream folder, or resume from the latest checkpoint')
        if runner.iter > 0:
            self._skip_cheaply(runner, loop, loader, start_items)
        self._resume_floor = start
        self._iter, self._consumed_items = runner.iter, start_items
        self.index = StreamIndex(self.stream.stream_dir)
        if is_main_process():
            os.makedirs(self.stream.stream_dir, exist_ok=True)
            self._write_consumer(runner.iter, start_items)
            sampler.listener = self._on_block
            self._open_provenance(runner)
            if self.start:
                self._start_generator(runner)

    def _skip_cheaply(self, runner, loop, loader, start_items: int) -> None:
        from mmengine.runner.loops import IterBasedTrainLoop, _InfiniteDataloaderIterator
        if not isinstance(loop, IterBasedTrainLoop) or type(loop).run is not \
                IterBasedTrainLoop.run:
            raise RuntimeError('resuming a stream needs mmengine\'s IterBasedTrainLoop (its '
                               f'skipping of trained batches is replaced), got {type(loop)}')
        self.sampler.set_start(start_items)
        # a fresh iterator from the resumed position (workers may have prefetched from 0)
        loop.dataloader_iterator = _SkipBatches(_InfiniteDataloaderIterator(loader), runner.iter)

    def _open_provenance(self, runner) -> None:
        self.provenance_path = osp.join(runner.work_dir, self.provenance)
        lines = []
        if osp.isfile(self.provenance_path):
            with open(self.provenance_path, encoding='utf-8') as f:
                lines = [line for line in f if line.strip()]
        # a resumed run repeats the iterations after its checkpoint: drop their old lines
        kept = [line for line in lines if 'iter' not in json.loads(line)
                or json.loads(line)['iter'] < runner.iter]
        if not kept:
            kept = [json.dumps(dict(stream_dir=osp.abspath(self.stream.stream_dir),
                                    seed=self.sampler.seed, block=self.sampler.block,
                                    window=self.window, batch_items=self.batch_items,
                                    offset=self.sampler.offset,
                                    num_samples=len(self.stream))) + '\n']
        atomic_write_text(self.provenance_path, ''.join(kept))

    def _start_generator(self, runner) -> None:
        state = read_state(self.stream.stream_dir, GENERATOR_STATE)
        if process_alive(state):
            runner.logger.info(f'online generation: reusing the generator (pid {state["pid"]}) '
                               f'of {self.stream.stream_dir}')
            return
        if not osp.isfile(self.config):
            raise FileNotFoundError(f'OnlineGenerationHook config={self.config}: no such '
                                    'generation config')
        if self.script is None:
            cmd = [sys.executable, '-m', GENERATOR_MODULE, self.config]
        elif osp.isfile(self.script):
            cmd = [sys.executable, self.script, self.config, '--stream']
        else:
            raise FileNotFoundError(f'OnlineGenerationHook script={self.script} is missing')
        cmd += ['--out', osp.abspath(self.stream.stream_dir), '--window', str(self.window),
                '--num', str(len(self.stream)), '--device', self.device, '--idle-timeout',
                str(self.idle_timeout)]
        if self.cfg_options:
            cmd += ['--cfg-options'] + [f'{k}={v}' for k, v in self.cfg_options.items()]
        log_path = osp.join(runner.work_dir, self.log_file)
        write_state(self.stream.stream_dir, GENERATOR_STATE,
                    dict(state='starting', log=osp.abspath(log_path), command=cmd))
        self._log = open(log_path, 'a', encoding='utf-8')
        self.process = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=dict(os.environ, **self.env))
        atexit.register(self._stop_generator)
        runner.logger.info(f'online generation: started {" ".join(cmd)} (pid '
                           f'{self.process.pid}, log {log_path})')

    # ------------------------------------------------------------ positions
    def _write_consumer(self, iteration: int, consumed_items: int, finished: bool = False):
        write_state(self.stream.stream_dir, CONSUMER_STATE, dict(
            requested=self.sampler.stream_frontier(self.sampler.requested),
            consumed=self.sampler.stream_frontier(consumed_items),
            pruned_below=self._pruned_below, iter=iteration, finished=finished,
            seed=self.sampler.seed))

    def _on_block(self, items: int) -> None:
        """The sampler starts a block at item ``items``: let the generator run on."""
        self._write_consumer(self._iter, self._consumed_items)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not is_main_process() or self.sampler is None:
            return
        first, end = batch_idx * self.batch_items, (batch_idx + 1) * self.batch_items
        self._iter, self._consumed_items = batch_idx + 1, end
        indices, stream = [], []
        for item in range(first, end):
            kind, value = self.sampler.item(item)
            indices.append(self.sampler.offset + value if kind == 'stream' else value)
            if kind == 'stream':
                self.index.refresh(max_position=value)
                sample_index, _, part = self.index.samples[value]
                stream.append([value, sample_index, part['manifest']['prompt']])
        consumed = self.sampler.stream_frontier(end)
        below = consumed - self.window
        if self.keep_for_resume:
            below = min(below, self._resume_floor)
        if below > self._pruned_below:
            self.index.refresh(max_position=below)
            self.index.prune_files(below)
            self._pruned_below = below
        self._write_consumer(batch_idx + 1, end)
        available = self.index.refresh()
        with open(self.provenance_path, 'a', encoding='utf-8') as f:
            f.write(json.dumps(dict(
                iter=batch_idx, indices=indices, stream=stream, consumed=consumed,
                requested=self.sampler.stream_frontier(self.sampler.requested),
                available=available, pruned_below=self._pruned_below)) + '\n')
        if self.process is not None and self.process.poll() not in (None, 0):
            raise RuntimeError(f'the generator of {self.stream.stream_dir} exited with '
                               f'{self.process.returncode}; see {self._log.name}')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """A heartbeat: a long validation must not look like a dead consumer to the
        generator's idle timeout."""
        if is_main_process() and self.sampler is not None and batch_idx % 20 == 0:
            self._write_consumer(self._iter, self._consumed_items)

    # ------------------------------------------------------------ stop
    def after_run(self, runner) -> None:
        if self.sampler is None or not is_main_process():
            return
        self._write_consumer(self._iter, self._consumed_items, finished=True)
        self._stop_generator()
        write_card(self.stream.stream_dir, log=runner.logger.warning)

    def _stop_generator(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None and self.sampler is not None:
            try:  # a run that ends without after_run (a crash) tells the generator too
                self._write_consumer(self._iter, self._consumed_items, finished=True)
            except OSError:
                pass
        try:
            self.process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        self.process = None
