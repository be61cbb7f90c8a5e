"""The layer table of a built ``Sequential``: each layer's per-sample output shape, parameter count and dtype, the
totals (the parameter total is ``flat_params.size``), and whether the fused dense path applies.

``Summary`` prints as a text table (``str``) and renders as an HTML table in notebooks (``_repr_html_``); the
estimators' ``summary()`` returns one, so their own scikit-learn diagram (the estimator's ``_repr_html_``) is
unchanged.
"""
import html

from .fused import FusedMLP
from ..layers import Dense, Activation

_COLUMNS = ("#", "layer", "output shape", "params", "dtype")


def _shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _fused_note(net):
    """Whether ``kernels.mlp`` runs this network, and why (not)."""
    if not FusedMLP.eligible(net.layers):  # the rule is FusedMLP.eligible's; this only names the layer breaking it
        for i, layer in enumerate(net.layers):
            dense = i % 2 == 0
            if (type(layer) is not Dense) if dense else not isinstance(layer, Activation):
                wanted = "Dense" if dense else "an activation"
                return False, f"no: layer {i} ({layer!r}) is not {wanted}; only Dense (activation Dense)* stacks fuse"
        return False, "no: a fused stack ends with a Dense layer"
    if net.fused is False:
        return True, "eligible, off (fused=False): every epoch and prediction runs layer by layer"
    if net.fused is True:
        return True, "yes (fused=True): one kernel call per epoch and per prediction"
    return True, (f"eligible (fused='auto': once compiled or cached, or for long fits); {net.fused_epochs} epoch(s) "
                  "ran fused")


class Summary:
    """A layer table. ``rows``: one dict per layer (``index``, ``layer``, ``output_shape``, ``params``, ``dtype``);
    ``total_params`` (the length of ``flat_params``), ``state_size`` (non-trainable values, e.g. BatchNorm's running
    statistics), ``fused`` (whether the stack is eligible for the fused path) and ``fused_note``. ``marks`` maps a row
    index to a note shown beside it."""

    def __init__(self, title, rows, total_params, state_size, dtype, fused, fused_note, marks=None):
        self.title, self.rows = title, rows
        self.total_params, self.state_size, self.dtype = total_params, state_size, dtype
        self.fused, self.fused_note = fused, fused_note
        self.marks = dict(marks or {})

    def _cells(self):
        return [
            [str(r["index"]), r["layer"], _shape(r["output_shape"]), f"{r['params']:,}", r["dtype"]] for r in self.rows
        ]

    def _footer(self):
        state = f"; non-trainable state: {self.state_size:,}" if self.state_size else ""
        return [f"Total parameters: {self.total_params:,} ({self.dtype}){state}", f"Fused path: {self.fused_note}"]

    def __str__(self):
        cells = self._cells()
        widths = [max(len(c) for c in column) for column in zip(_COLUMNS, *cells)]
        right = {0, 3}  # numbers align right

        def line(values):
            return "  ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))

        lines = [self.title, line(_COLUMNS).rstrip(), line(["-" * w for w in widths])]
        for row, values in zip(self.rows, cells):
            mark = self.marks.get(row["index"])
            lines.append((line(values) + (f"  <- {mark}" if mark else "")).rstrip())
        return "\n".join(lines + self._footer())

    __repr__ = __str__

    def _repr_html_(self):
        esc = html.escape
        head = "".join(f"<th>{esc(c)}</th>" for c in _COLUMNS + ("",))
        body = []
        for row, values in zip(self.rows, self._cells()):
            cells = "".join(
                f'<td style="text-align:{"right" if i in (0, 3) else "left"}">{esc(v)}</td>' for i, v in enumerate(values)
            )
            body.append(f"<tr>{cells}<td>{esc(self.marks.get(row['index'], ''))}</td></tr>")
        footer = "".join(f"<div>{esc(line)}</div>" for line in self._footer())
        return (
            f"<div><strong>{esc(self.title)}</strong><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{footer}</div>"
        )


def summarize(net, title=None, marks=None):
    """The ``Summary`` of a built ``Sequential``."""
    if not getattr(net, "built", False):
        raise ValueError("summary() needs a built network: call build(input_shape, dtype) or train it first.")
    rows = [
        {"index": i, "layer": repr(layer), "output_shape": tuple(layer.output_shape),
         "params": sum(p.size for p in layer.params), "dtype": str(layer.dtype)}
        for i, layer in enumerate(net.layers)
    ]
    fused, note = _fused_note(net)
    title = title or f"Sequential: input {_shape(net.input_shape)}, loss {type(net.loss).__name__}"
    return Summary(title, rows, int(net.flat_params.size), int(net.flat_state.size), str(net.dtype), fused, note, marks)
