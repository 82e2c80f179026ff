"""The contact-aligned output representation: a profile in units of the ion size, mapped to bins exactly.

Each species' density is learnt as one continuous profile g(s) of the distance from the
nearer wall's contact plane in units of the ion's diameter::

    s = x / d - 1/2,        x = h/2 - |z|  (distance from the nearer wall)

so that the contact rise (at x ≈ d/2, where the soft wall's potential is 1 kT) and the
first layers (period ≈ d) stay at the same s for every system, where in z they move by up
to 18 bins across the paper box (docs/surrogate.md, "Contact-aligned outputs").

g is piecewise linear on a fixed knot grid s_0 < s_1 < … < s_{M-1}: exactly zero below s_0
(where an ion cannot reach: the soft wall's potential there is ≥ 250 kT, a Boltzmann factor
below 1e-100), and extended by its last value beyond s_{M-1}.  A sample's bin averages are a
*linear map* of the knot values, y = A(h, d) g, with A the exact average of the interpolant
over each bin (no interpolation of bin values, no resampling): the bin average over
[a, b] is (Φ(b) − Φ(a)) / (b − a), Φ the antiderivative of g, piecewise quadratic.
Mirror symmetry n(z) = n(−z) is built in (both walls carry the same charge in the data
this representation is for), and so are the exact zeros.

Two implementations of the same map, checked against each other by the tests:
:func:`averaging_matrix` (NumPy, float64; builds A, for the round trip and the tests) and
:func:`bin_averages` (NumPy, float64, from g directly), with :class:`AlignedBins` the Keras
layer (float64 inside) that the network ends in, so the training loss is computed in bin
space through A.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InputError

__all__ = [
    "ALIGNED_INPUTS",
    "AlignedGrid",
    "averaging_matrix",
    "bin_averages",
    "bin_edges_s",
    "bins_from_knots",
    "fit_profiles",
    "fourier_features",
    "register_layers",
    "require_aligned_inputs",
]

#: Inputs the representation needs: the wall separation and one diameter per species.
ALIGNED_INPUTS = ("h", "d_plus", "d_minus")
#: s below which an ion cannot reach (distance 0.35 d from the wall: the WCA wall is ≥ 250 kT there).
S_START = -0.15


def require_aligned_inputs(input_names: Sequence[str]) -> dict[str, int]:
    """Column of h, d_plus and d_minus in the inputs, or a clear error naming what is missing."""
    missing = [k for k in ALIGNED_INPUTS if k not in input_names]
    if missing:
        raise InputError(
            f"representation = 'aligned' needs the inputs {', '.join(ALIGNED_INPUTS)} (the wall separation and "
            f"the ion diameters, in nm); this model's inputs are {', '.join(input_names)} (missing: "
            f"{', '.join(missing)}). Use representation = 'bins' for other systems"
        )
    return {k: list(input_names).index(k) for k in ALIGNED_INPUTS}


class AlignedGrid:
    """The knot grid of g(s): uniform segments, finest at the contact, coarser further out.

    Parameters
    ----------
    s_max : float
        Largest s the grid covers (the midplane of the widest slit over the smallest
        ion: h_max / (2 d_min) − 1/2).
    steps : sequence of float, default (0.01, 0.02, 0.04)
        Knot spacing (in ion diameters) of each segment.
    breaks : sequence of float, default (0.4, 2.5)
        Where each segment but the last ends (one fewer than ``steps``).  The defaults:
        0.01 across the contact rise (about 0.1 in s wide, steeper than any bin of the
        data, 0.0127–0.05 in s over the paper box), 0.02 over the first layers, 0.04
        beyond, where the profile varies on the scale of a layer (1 in s) or a Debye
        length: 401 knots per species over the paper box.  They reproduce exact bin
        averages to 1.5e-5 M RMS, 3.7e-4 M at worst, at 24 inputs with the densest corner
        (``tests/test_aligned.py``); 0.01 up to s = 1 then 0.04 gave 1.3e-4 M RMS and
        5e-3 M in that corner, 0.02 everywhere 5e-4 M RMS.
    s_start : float, default -0.15
        g = 0 below this (and at it).
    """

    def __init__(self, s_max: float, steps=(0.01, 0.02, 0.04), breaks=(0.4, 2.5), s_start: float = S_START):
        steps = [float(v) for v in steps]
        breaks = [float(v) for v in breaks]
        if not steps or not all(np.isfinite(v) and v > 0 for v in steps):
            raise InputError(f"steps = {steps!r}; every knot spacing must be > 0")
        if len(breaks) != len(steps) - 1 or any(b <= a for a, b in zip([s_start, *breaks], breaks)):
            raise InputError(f"breaks = {breaks!r}; need {len(steps) - 1} increasing values above s_start = {s_start}")
        if not (np.isfinite(s_max) and s_max > s_start):
            raise InputError(f"s_max = {s_max!r}; it must be > s_start = {s_start}")
        self.s_max, self.steps, self.breaks, self.s_start = float(s_max), steps, breaks, float(s_start)
        knots = [np.array([s_start])]
        #: first knot index and position of each segment (for the index arithmetic of the Keras map)
        self.segments: list[tuple[int, float, float]] = []
        count = 0
        for step, end in zip(steps, [*breaks, np.inf]):
            begin = float(knots[-1][-1])
            if begin >= s_max:
                break
            n = int(np.ceil((min(end, s_max) - begin) / step - 1e-9))
            self.segments.append((count, begin, step))
            knots.append(begin + step * np.arange(1, n + 1))
            count += n
        #: knot positions, shape (M + 1,): the first is s_start, where g is 0
        self.knots = np.concatenate(knots)

    @property
    def size(self) -> int:
        """M, the free knot values per species (all but the pinned first knot)."""
        return self.knots.size - 1

    def as_dict(self) -> dict:
        return {"s_max": self.s_max, "steps": list(self.steps), "breaks": list(self.breaks), "s_start": self.s_start}

    @classmethod
    def from_dict(cls, d: Mapping) -> AlignedGrid:
        return cls(s_max=float(d["s_max"]), steps=[float(v) for v in d["steps"]],
                   breaks=[float(v) for v in d["breaks"]], s_start=float(d["s_start"]))

    @classmethod
    def covering(cls, h_max: float, d_min: float, **kwargs) -> AlignedGrid:
        """A grid reaching the midplane of a slit ``h_max`` wide for an ion ``d_min`` across (plus 1 %)."""
        return cls(s_max=1.01 * (h_max / (2 * d_min) - 0.5), **kwargs)


def bin_edges_s(h: np.ndarray, d: np.ndarray, n_bins: int) -> np.ndarray:
    """s at the edges of the half-slit's bins, nearer wall first; shape (n, n_bins // 2 + 1).

    The slit's ``n_bins`` (even) equal bins over (−h/2, h/2) are mirrored: bin k and bin
    n_bins − 1 − k have the same distance from their wall.
    """
    if n_bins % 2:
        raise InputError(f"n_bins = {n_bins}; the aligned representation mirrors the slit and needs an even count")
    h = np.asarray(h, dtype=float)[:, None]
    d = np.asarray(d, dtype=float)[:, None]
    x = np.arange(n_bins // 2 + 1)[None, :] * h / n_bins
    return x / d - 0.5


def _antiderivative_basis(s: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Φ_j(s) = ∫_{-∞}^{s} hat_j, for every free knot j (1..M); shape s.shape + (M,).

    hat_j is the piecewise-linear basis function of knot j; the last one is extended by
    its value 1 beyond the last knot (g constant there).
    """
    t = knots
    M = t.size - 1
    s = np.asarray(s, dtype=float)[..., None]
    out = np.zeros(s.shape[:-1] + (M,))
    j = np.arange(1, M + 1)
    left = t[j - 1]
    mid = t[j]
    # rising half on [t_{j-1}, t_j]
    u = np.clip(s - left, 0, mid - left)
    out += u**2 / (2 * (mid - left))
    # falling half on [t_j, t_{j+1}] (the last knot: constant 1 beyond)
    has_right = j < M
    right = np.where(has_right, t[np.minimum(j + 1, M)], np.inf)
    width = np.where(has_right, right - mid, 1.0)
    v = np.clip(s - mid, 0, np.where(has_right, right - mid, np.inf))
    out += np.where(has_right, v - v**2 / (2 * width), v)
    return out


def averaging_matrix(h: np.ndarray, d: np.ndarray, n_bins: int, grid: AlignedGrid) -> np.ndarray:
    """A, the exact bin averages of g over each bin of the whole slit; shape (n, n_bins, M).

    ``density[:, k] = A[:, k, :] @ g`` for g the free knot values (n, M).
    """
    s = bin_edges_s(h, d, n_bins)
    phi = _antiderivative_basis(s, grid.knots)  # (n, half + 1, M)
    half = (phi[:, 1:] - phi[:, :-1]) / (s[:, 1:] - s[:, :-1])[..., None]
    return np.concatenate([half, half[:, ::-1]], axis=1)


def bin_averages(g: np.ndarray, h: np.ndarray, d: np.ndarray, n_bins: int, grid: AlignedGrid) -> np.ndarray:
    """Bin averages (n, n_bins) of the profiles with free knot values ``g`` (n, M), without forming A.

    The antiderivative of the piecewise-linear g at the knots is a cumulative trapezoid sum;
    between knots it is quadratic.  Same map as :func:`averaging_matrix`, in O(n (n_bins + M)).
    """
    g = np.asarray(g, dtype=float)
    t = grid.knots
    gk = np.concatenate([np.zeros((g.shape[0], 1)), g], axis=1)  # (n, M + 1), g(s_start) = 0
    dt = np.diff(t)
    G = np.concatenate([np.zeros((g.shape[0], 1)), np.cumsum(0.5 * (gk[:, 1:] + gk[:, :-1]) * dt, axis=1)], axis=1)
    s = bin_edges_s(h, d, n_bins)
    Phi = _antiderivative_at(s, t, gk, G)
    half = (Phi[:, 1:] - Phi[:, :-1]) / (s[:, 1:] - s[:, :-1])
    return np.concatenate([half, half[:, ::-1]], axis=1)


def _antiderivative_at(s: np.ndarray, t: np.ndarray, gk: np.ndarray, G: np.ndarray) -> np.ndarray:
    """∫_{-∞}^{s} g for g with knot values ``gk`` (n, M + 1) and knot integrals ``G``; shape s.shape."""
    j = np.clip(np.searchsorted(t, s, side="right") - 1, 0, t.size - 2)
    tj = t[j]
    width = t[j + 1] - tj
    u = np.clip(s - tj, 0, width)
    g0 = np.take_along_axis(gk, j, axis=1)
    g1 = np.take_along_axis(gk, j + 1, axis=1)
    inside = np.take_along_axis(G, j, axis=1) + g0 * u + (g1 - g0) * u**2 / (2 * width)
    beyond = np.maximum(s - t[-1], 0) * gk[:, -1:]
    return np.where(s <= t[0], 0.0, inside + beyond)


def fit_profiles(density: np.ndarray, h: np.ndarray, d: np.ndarray, grid: AlignedGrid,
                 smoothing: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """The round trip's inverse: g = argmin ‖A g − y‖² + λ‖D g‖² per sample (D second differences).

    Parameters
    ----------
    density : numpy.ndarray, shape (n, n_bins)
        One species' bin averages (mol/L).
    h, d : numpy.ndarray, shape (n,)
        Wall separation and that species' diameter (nm).
    grid : AlignedGrid
    smoothing : float, default 1e-8
        λ, relative to the largest diagonal element of AᵀA.

    Returns
    -------
    g : numpy.ndarray, shape (n, M)
        Knot values.
    back : numpy.ndarray, shape (n, n_bins)
        A g, the bins the representation gives back.
    """
    density = np.asarray(density, dtype=float)
    n, n_bins = density.shape
    M = grid.size
    D = np.diff(np.eye(M + 1), n=2, axis=0)[:, 1:]  # second differences of (0, g)
    DtD = D.T @ D
    g = np.zeros((n, M))
    back = np.zeros_like(density)
    for i in range(n):
        A = averaging_matrix(h[i:i + 1], d[i:i + 1], n_bins, grid)[0]
        used = np.flatnonzero(np.abs(A).sum(axis=0) > 0)  # knots this sample's slit reaches
        A_u = A[:, used]
        AtA = A_u.T @ A_u
        lam = smoothing * float(np.max(np.diag(AtA)))
        g[i, used] = np.linalg.solve(AtA + lam * DtD[np.ix_(used, used)], A_u.T @ density[i])
        # knots beyond the midplane carry no data: continue the last reached value
        if used.size and used[-1] < M - 1:
            g[i, used[-1] + 1:] = g[i, used[-1]]
        back[i] = A @ g[i]
    return g, back


def _knot_index(s, grid: AlignedGrid, ops):
    """Index j of the knot interval [t_j, t_{j+1}] holding s (clipped to the grid), without a search."""
    j = None
    for first, begin, step in grid.segments:
        here = first + ops.floor((s - begin) / step)
        j = here if j is None else ops.where(s >= begin, here, j)
    return ops.cast(ops.clip(j, 0, grid.knots.size - 2), "int32")


def bins_from_knots(g, h, d_plus, d_minus, n_bins: int, grid: AlignedGrid, bins: np.ndarray | None = None):
    """Bin averages of both species from knot values, in Keras ops (float64 inside; differentiable).

    The same map as :func:`bin_averages`, written with ``keras.ops`` so that the training
    loss and the model function's TensorFlow graph run it.  Its cost is in the bin edges
    (the antiderivative is evaluated at each), so ``bins`` limits the work to the bins asked for.

    Parameters
    ----------
    g : tensor, shape (batch, 2 M)
        Knot values, cation then anion.
    h, d_plus, d_minus : tensor, shape (batch,)
        nm.
    n_bins : int
    grid : AlignedGrid
    bins : numpy.ndarray of int, optional
        Only these bins (indices in [0, n_bins)), of both species; default all.

    Returns
    -------
    tensor, shape (batch, 2 n_bins) or (batch, 2 len(bins)), float64
        Cation bins then anion bins.
    """
    from .._keras import import_keras

    ops = import_keras().ops
    M = grid.size
    t = grid.knots
    dt = ops.convert_to_tensor(np.diff(t), "float64")
    t_lo = ops.convert_to_tensor(t[:-1], "float64")
    half_index = None
    edges = np.arange(n_bins // 2 + 1)
    if bins is not None:  # the half-slit bins behind the requested ones, and only their edges
        bins = np.asarray(bins, dtype=int)
        half_index = np.where(bins < n_bins // 2, bins, n_bins - 1 - bins)
        edges = np.unique(np.concatenate([half_index, half_index + 1]))
    x = ops.convert_to_tensor(edges / n_bins, "float64")  # edges over h
    g = ops.cast(g, "float64")
    # both species as one batch of 2 b profiles: (cation of every sample, then anion of every sample)
    gk = ops.concatenate([g[:, :M], g[:, M:]], axis=0)
    gk = ops.pad(gk, [[0, 0], [1, 0]])  # (2b, M + 1); g(s_start) = 0
    G = ops.pad(ops.cumsum(0.5 * (gk[:, 1:] + gk[:, :-1]) * dt, axis=1), [[0, 0], [1, 0]])
    ratio = ops.concatenate([ops.cast(h, "float64") / ops.cast(d_plus, "float64"),
                             ops.cast(h, "float64") / ops.cast(d_minus, "float64")], axis=0)
    s = x[None, :] * ratio[:, None] - 0.5  # (2b, half + 1)
    j = _knot_index(s, grid, ops)
    tj = ops.take(t_lo, j)
    width = ops.take(dt, j)
    u = ops.clip(s - tj, 0.0, width)
    b1 = u * u / (2 * width)  # Φ = G_j + g_j (u - b1) + g_{j+1} b1 inside [t_j, t_{j+1}]
    g0 = ops.take_along_axis(gk, j, axis=1)
    g1 = ops.take_along_axis(gk, j + 1, axis=1)
    phi = ops.take_along_axis(G, j, axis=1) + g0 * (u - b1) + g1 * b1
    phi = phi + ops.maximum(s - float(t[-1]), 0.0) * gk[:, -1:]
    phi = ops.where(s <= float(t[0]), 0.0, phi)
    b = ops.shape(g)[0]
    if half_index is None:
        half = (phi[:, 1:] - phi[:, :-1]) / (s[:, 1:] - s[:, :-1])
        cation, anion = half[:b], half[b:]
        return ops.concatenate([cation, ops.flip(cation, axis=1), anion, ops.flip(anion, axis=1)], axis=1)
    lo, hi = np.searchsorted(edges, half_index), np.searchsorted(edges, half_index + 1)
    lo, hi = ops.convert_to_tensor(lo, "int32"), ops.convert_to_tensor(hi, "int32")
    half = (ops.take(phi, hi, axis=1) - ops.take(phi, lo, axis=1)) / (ops.take(s, hi, axis=1) - ops.take(s, lo, axis=1))
    return ops.concatenate([half[:b], half[b:]], axis=1)


def _layer_class(name: str, define):
    """The Keras layer class ``define(keras)``, registered once as ``uqsurrogate>name``.

    The classes are defined on first use, so that importing this module needs no Keras.
    """
    from .._keras import import_keras

    keras = import_keras()
    registered = keras.saving.get_registered_object(f"uqsurrogate>{name}")
    if registered is not None:
        return registered
    return keras.saving.register_keras_serializable(package="uqsurrogate", name=name)(define(keras))


def aligned_layer_class():
    """The Keras layer :class:`AlignedBins`: knot values to bin averages (the map of :func:`bins_from_knots`)."""
    return _layer_class("AlignedBins", _define_aligned_bins)


def trunk_layer_class():
    """The Keras layer :class:`TrunkBasis` of the coordinate network."""
    return _layer_class("TrunkBasis", _define_trunk_basis)


def _define_aligned_bins(keras):
    class AlignedBins(keras.layers.Layer):
        """Knot values of g(s) (batch, 2 M) and the min-max scaled inputs to bin averages (batch, 2 n_bins).

        ``columns`` are the positions of h, d_plus, d_minus among the inputs; ``low`` and
        ``span`` undo their min-max scaling.  The bins are in the units of g (outputs over
        c are multiplied back by the caller).  With ``residual`` the input holds 2 n_bins
        per-bin values first, added to the bins of the knot values that follow (the
        ``hybrid`` representation).  No weights.
        """

        def __init__(self, grid: dict, n_bins: int, columns: list, low: list, span: list, residual: bool = False,
                     **kwargs):
            super().__init__(**kwargs)
            self.residual = bool(residual)
            self.grid_config = dict(grid)
            self.grid = AlignedGrid.from_dict(grid)
            self.n_bins = int(n_bins)
            self.columns = [int(c) for c in columns]
            self.low = [float(v) for v in low]
            self.span = [float(v) for v in span]

        def call(self, inputs):
            g, xs = inputs
            ops = keras.ops
            xs = ops.cast(xs, "float64")
            h, dp, dm = (self.low[i] + xs[:, c] * self.span[i] for i, c in enumerate(self.columns))
            if not self.residual:
                return ops.cast(bins_from_knots(g, h, dp, dm, self.n_bins, self.grid), self.compute_dtype)
            P = 2 * self.n_bins
            mapped = ops.cast(bins_from_knots(g[:, P:], h, dp, dm, self.n_bins, self.grid), self.compute_dtype)
            return g[:, :P] + mapped

        def compute_output_shape(self, input_shape):
            return (input_shape[0][0], 2 * self.n_bins)

        def get_config(self):
            return {**super().get_config(), "grid": self.grid_config, "n_bins": self.n_bins,
                    "columns": self.columns, "low": self.low, "span": self.span, "residual": self.residual}

    return AlignedBins


def fourier_features(s: np.ndarray, n_frequencies: int, period: float) -> np.ndarray:
    """[s / period, sin(2π f s), cos(2π f s)], f geometric from 1 to 512 / period; shape s.shape + (1 + 2 F,).

    With ``period`` twice the grid's extent (about 24 diameters) the highest frequency is
    about 20 per diameter, resolving the contact rise (about 0.1 diameter wide).
    """
    f = np.geomspace(1.0, 512.0, n_frequencies) / period
    arg = 2 * np.pi * np.asarray(s, dtype=float)[..., None] * f
    return np.concatenate([np.asarray(s, dtype=float)[..., None] / period, np.sin(arg), np.cos(arg)], axis=-1)


def _define_trunk_basis(keras):
    class TrunkBasis(keras.layers.Layer):
        """A coordinate network evaluated on the shared knot grid (DeepONet style).

        g_k(s_m) = Σ_p b_p(x) φ_{k,p}(s_m) + β_k(s_m): the branch features b(x) (batch, P)
        come in; the trunk φ, β is an MLP of Fourier features of s, evaluated at the M
        knots of both species.  On a fixed grid this is a dense layer whose kernel (P, 2 M)
        is a smooth function of s (:meth:`effective_kernel`), so it costs what the plain
        output layer costs at inference, and the model function folds it into one.
        """

        def __init__(self, grid: dict, width: int = 128, depth: int = 2, n_frequencies: int = 16, seed: int = 0,
                     **kwargs):
            super().__init__(**kwargs)
            self.grid_config = dict(grid)
            self.width, self.depth = int(width), int(depth)
            self.n_frequencies, self.seed = int(n_frequencies), int(seed)
            g = AlignedGrid.from_dict(grid)
            self.M = g.size
            self.features = fourier_features(g.knots[1:], self.n_frequencies, 2 * g.s_max).astype("float32")
            self.trunk = [keras.layers.Dense(self.width, activation="silu", name=f"trunk_{i}",
                                             kernel_initializer=keras.initializers.GlorotNormal(seed=seed + 31 * i))
                          for i in range(self.depth)]

        def build(self, input_shape):
            p = int(input_shape[-1])
            self.p = p
            width_in = self.features.shape[1]
            for layer in self.trunk:
                layer.build((None, width_in))
                width_in = self.width
            self.head = keras.layers.Dense(2 * (p + 1), name="trunk_head",
                                           kernel_initializer=keras.initializers.GlorotNormal(seed=self.seed + 997))
            self.head.build((None, width_in))
            self.built = True

        def _basis(self):
            ops = keras.ops
            z = ops.convert_to_tensor(self.features)
            for layer in self.trunk:
                z = layer(z)
            z = self.head(z)  # (M, 2 (P + 1))
            z = ops.reshape(z, (self.M, 2, self.p + 1))
            kernel = ops.reshape(ops.transpose(z[:, :, : self.p], (2, 1, 0)), (self.p, 2 * self.M))
            bias = ops.reshape(ops.transpose(z[:, :, self.p]), (2 * self.M,))
            return kernel / float(np.sqrt(self.p)), bias

        def call(self, inputs):
            kernel, bias = self._basis()
            return keras.ops.matmul(inputs, kernel) + bias

        def effective_kernel(self):
            """(kernel (P, 2 M), bias (2 M,)) as NumPy float64: the dense layer this one equals."""
            kernel, bias = self._basis()
            return np.asarray(kernel, dtype=np.float64), np.asarray(bias, dtype=np.float64)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], 2 * self.M)

        def get_config(self):
            return {**super().get_config(), "grid": self.grid_config, "width": self.width, "depth": self.depth,
                    "n_frequencies": self.n_frequencies, "seed": self.seed}

    return TrunkBasis


def register_layers() -> dict:
    """Register this module's Keras layers (before ``keras.saving.load_model`` of an aligned model).

    Returns
    -------
    dict
        ``{"uqsurrogate>AlignedBins": ..., "uqsurrogate>TrunkBasis": ...}``, usable as ``custom_objects``.

    Notes
    -----
    With Keras alone::

        import keras
        from uqsurrogate.surrogate.aligned import register_layers
        register_layers()
        keras.saving.load_model("model/model.keras").predict(X)
    """
    return {"uqsurrogate>AlignedBins": aligned_layer_class(), "uqsurrogate>TrunkBasis": trunk_layer_class()}
