"""Loading a model file and scoring profiles with it.

A model file is one JSON document (``format: botsweep-model/1``) holding the LightGBM
model text, the feature list, the isotonic calibration knots, the threshold, the
username bigram table and the metadata written by training (library versions, data
summary, cross-validated metrics).  No pickle: a model file can be read, diffed and
trusted.  The shipped default lives in ``botsweep/models/default/model.json``.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from botsweep.atomic import replaced
from botsweep.errors import ModelError, ModelFileError
from botsweep.models.calibration import Calibrator
from botsweep.models.features import CONSTANT_FEATURES, FEATURES, feature_matrix
from botsweep.models.ngram import UsernameModel
from botsweep.models.words import WordModel

if TYPE_CHECKING:
    import lightgbm

    from botsweep.config import Settings

__all__ = ["BotScorer", "load_scorer", "DEFAULT_MODEL_PATH", "MODEL_FORMAT", "display_scores"]

MODEL_FORMAT = "botsweep-model/1"
DEFAULT_MODEL_PATH = Path(__file__).parent / "default" / "model.json"


def display_scores(probs: np.ndarray) -> np.ndarray:
    """The 0-5 display score Botometer users know: 5 x probability, one decimal."""
    return np.round(5.0 * np.asarray(probs, dtype=np.float64), 1)


def model_version(model_text: str, calibration: Mapping[str, Any], threshold: float,
                  features: Sequence[str], created: datetime) -> str:
    """``botsweep-lgbm-<yyyymmdd>-<hash8>``; the hash covers everything that changes scores."""
    digest = hashlib.sha256()
    for part in (model_text, json.dumps(calibration, sort_keys=True), repr(float(threshold)),
                 ",".join(features)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return f"botsweep-lgbm-{created:%Y%m%d}-{digest.hexdigest()[:8]}"


class BotScorer:
    """A trained, calibrated bot model: records in, bot probabilities in [0, 1] out."""

    def __init__(self, booster: lightgbm.Booster, features: Sequence[str], threshold: float,
                 calibrator: Calibrator, username_model: UsernameModel,
                 meta: Mapping[str, Any] | None = None, version: str | None = None,
                 *, word_model: WordModel | None = None) -> None:
        unknown = [name for name in features
                   if name not in FEATURES and name not in CONSTANT_FEATURES]
        if unknown:
            raise ModelError(
                f"model uses features this botsweep does not compute: {', '.join(unknown)}; "
                "upgrade botsweep or retrain the model with `botsweep train`"
            )
        if not 0.0 <= float(threshold) <= 1.0:
            raise ModelError(f"model threshold {threshold!r} is outside [0, 1]")
        self.booster = booster
        self.feature_names: list[str] = list(features)
        self.threshold = float(threshold)
        self.calibrator = calibrator
        self.username_model = username_model
        self.word_model = word_model if word_model is not None else WordModel.empty()
        self.meta: dict[str, Any] = dict(meta or {})
        self._computed = [i for i, name in enumerate(self.feature_names) if name in FEATURES]
        self._columns = np.array([FEATURES.index(self.feature_names[i]) for i in self._computed])
        self._constants = {i: CONSTANT_FEATURES[name] for i, name in enumerate(self.feature_names)
                           if name in CONSTANT_FEATURES}
        self._identity = self.feature_names == list(FEATURES)
        self.version = version or str(self.meta.get("version") or "botsweep-lgbm-unversioned")
        self.predict_threads = 0  # LightGBM predict threads; 0 = OpenMP's default (all cores)
        # Batches of at least two chunks are scored in chunks of this many records, one
        # chunk predicted on a second thread while the next one's features are computed;
        # 0 turns that off (features of the whole batch, then one predict).
        self.chunk_size = 8192
        self._copy: lightgbm.Booster | None = None

    def missing_as_zero(self) -> set[str]:
        """The features the model never saw missing in training: LightGBM reads a missing
        value of such a feature (no split learnt where missing values go) as 0."""
        learnt: set[int] = set()

        def walk(node: Mapping[str, Any]) -> None:
            if "split_feature" in node:
                if node.get("missing_type") == "NaN":
                    learnt.add(int(node["split_feature"]))
                walk(node["left_child"])
                walk(node["right_child"])

        for tree in self.booster.dump_model().get("tree_info", []):
            walk(tree["tree_structure"])
        return {name for i, name in enumerate(self.feature_names) if i not in learnt}

    # -- scoring -------------------------------------------------------------------------
    def features(self, records: Sequence[Mapping[str, Any]],
                 now: datetime | None = None) -> np.ndarray:
        """The model's input matrix for ``records`` (its own columns, in its order)."""
        full = feature_matrix(records, now=now, username_model=self.username_model,
                              word_model=self.word_model)
        if self._identity:
            return full
        if not self._constants:
            return full[:, self._columns]
        out = np.empty((full.shape[0], len(self.feature_names)), dtype=full.dtype)
        out[:, self._computed] = full[:, self._columns]
        for index, value in self._constants.items():
            out[:, index] = value
        return out

    def raw_matrix(self, matrix: np.ndarray, threads: int | None = None,
                   booster: lightgbm.Booster | None = None) -> np.ndarray:
        """LightGBM's uncalibrated probability for a ready feature matrix.

        ``threads`` overrides :attr:`predict_threads` (0 = all cores); ``booster``
        (a copy of the model) overrides :attr:`booster`.
        """
        if matrix.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        threads = self.predict_threads if threads is None else threads
        extra = {"num_threads": threads} if threads > 0 else {}
        chosen = self.booster if booster is None else booster
        return np.asarray(chosen.predict(matrix, **extra), dtype=np.float64)

    def predict_matrix(self, matrix: np.ndarray, threads: int | None = None,
                       booster: lightgbm.Booster | None = None) -> np.ndarray:
        """Calibrated bot probabilities for a ready feature matrix."""
        return self.calibrator(self.raw_matrix(matrix, threads, booster))

    def _second_booster(self) -> lightgbm.Booster:
        """A copy of the model for a second predicting thread, made once.

        LightGBM's predict writes a little state into its booster, so two threads
        predicting at once each get their own.
        """
        if self._copy is None:
            import lightgbm

            self._copy = lightgbm.Booster(model_str=self.booster.model_to_string())
        return self._copy

    def predict_proba(self, records: Sequence[Mapping[str, Any]],
                      now: datetime | None = None) -> np.ndarray:
        """Calibrated bot probability in [0, 1] for each record (age measured as features say).

        A large batch is pipelined (see :attr:`chunk_size`): the scores are the same as
        one predict over the whole batch, since each row is scored on its own.
        """
        if not records:
            return np.zeros(0, dtype=np.float64)
        if self.chunk_size <= 0 or len(records) < 2 * self.chunk_size:
            return self.predict_matrix(self.features(records, now=now))
        # One observation time for every chunk, as for a single call.
        return self._pipelined(records, now if now is not None else datetime.now(UTC))

    def _pipelined(self, records: Sequence[Mapping[str, Any]], now: datetime) -> np.ndarray:
        """Features of chunk k+1 on this thread while chunk k is predicted on another.

        LightGBM releases the GIL while it predicts, so the two overlap on two cores.
        When the predict thread already has a chunk running and one waiting, this thread
        predicts the chunk it just built itself, so neither thread idles whichever of
        features and predict costs more.  Each predict uses one thread, except the last
        chunk's when nothing else is left to overlap it.
        """
        n, size = len(records), self.chunk_size
        out = np.empty(n, dtype=np.float64)
        one = self.predict_threads if self.predict_threads > 0 else 1
        queued: deque[Future[None]] = deque()

        mine = self._second_booster()

        def predict(matrix: np.ndarray, start: int, threads: int,
                    booster: lightgbm.Booster | None = None) -> None:
            out[start:start + len(matrix)] = self.predict_matrix(matrix, threads, booster)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="botsweep-predict") as pool:
            for start in range(0, n, size):
                matrix = self.features(records[start:start + size], now=now)
                while queued and queued[0].done():
                    queued.popleft().result()  # raises here if that predict failed
                if start + size >= n:
                    predict(matrix, start, one if queued else self.predict_threads, mine)
                elif len(queued) < 2:
                    queued.append(pool.submit(predict, matrix, start, one))
                else:
                    predict(matrix, start, one, mine)
            for future in queued:
                future.result()
        return out

    def labels(self, probs: np.ndarray) -> np.ndarray:
        """``"bot"`` where ``probs >= threshold``, else ``"human"``."""
        return np.where(np.asarray(probs) >= self.threshold, "bot", "human")

    # -- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = dict(self.meta)
        data.update({
            "format": MODEL_FORMAT,
            "version": self.version,
            "features": self.feature_names,
            "threshold": self.threshold,
            "calibration": self.calibrator.to_dict(),
            "username_model": self.username_model.to_dict(),
            "word_model": self.word_model.to_dict(),
            "lightgbm_model": self.booster.model_to_string(),
        })
        return data

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        text = json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelError(f"cannot write {path}: {exc.strerror or exc}") from None
        with replaced(path, ModelError) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "model") -> BotScorer:
        import lightgbm

        if not isinstance(data, Mapping) or data.get("format") != MODEL_FORMAT:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise ModelError(
                f"{source}: not a botsweep model file (format {got!r}, expected {MODEL_FORMAT!r}); "
                "make one with `botsweep train --data FILE --out model.json`"
            )
        try:
            text = data["lightgbm_model"]
            booster = lightgbm.Booster(model_str=text)
            features = list(data["features"])
            threshold = float(data["threshold"])
            calibrator = Calibrator.from_dict(data["calibration"])
            username_model = UsernameModel.from_dict(data["username_model"])
            word_model = (WordModel.from_dict(data["word_model"]) if "word_model" in data
                          else WordModel.empty())
        except KeyError as exc:
            raise ModelError(f"{source}: model file lacks {exc.args[0]!r}") from None
        except ModelError as exc:
            raise ModelError(f"{source}: {exc}") from None
        except (lightgbm.basic.LightGBMError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: cannot load the LightGBM model ({exc})") from None
        if booster.num_feature() != len(features):
            raise ModelError(
                f"{source}: the LightGBM model takes {booster.num_feature()} features but the "
                f"file lists {len(features)}"
            )
        meta = {k: v for k, v in data.items() if k not in ("lightgbm_model",)}
        return cls(booster, features, threshold, calibrator, username_model, meta,
                   str(data.get("version") or "") or None, word_model=word_model)

    @classmethod
    def load(cls, path: Path | str | None = None) -> BotScorer:
        """Load ``path``, or the shipped default model when ``path`` is None.

        A bad file the user named is :class:`ModelFileError` (bad input, exit 2); a bad
        shipped model stays a :class:`ModelError` (a broken install)."""
        if path is None:
            return cls._load(DEFAULT_MODEL_PATH, shipped=True)
        try:
            return cls._load(Path(path), shipped=False)
        except ModelError as exc:
            raise ModelFileError(str(exc)) from None

    @classmethod
    def _load(cls, chosen: Path, shipped: bool) -> BotScorer:
        try:
            text = chosen.read_text(encoding="utf-8")
        except FileNotFoundError:
            hint = ("reinstall botsweep" if shipped
                    else "check scorer.model in config.yaml, or train one with `botsweep train`")
            raise ModelError(f"{chosen}: model file not found; {hint}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"{chosen}: cannot read the model file ({exc})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"{chosen}: not a JSON model file ({exc.msg}, line {exc.lineno})") \
                from None
        return cls.from_dict(data, source=str(chosen))


def load_scorer(settings: Settings) -> BotScorer:
    """The model named by ``scorer.model`` in the settings, else the shipped default."""
    return BotScorer.load(settings.scorer.model)
