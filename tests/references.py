"""NumPy references written from the paper's definitions, not from the package.

Tests compare the package against these: Caffe `Interp` (align-corners
bilinear) resizing, plain convolution, and Eq. (1)-(2) of the paper.
"""

import numpy as np


def resize_align_corners(images, out_h, out_w):
    """Bilinear resize of [B, H, W, C] with align-corners, by the definition."""
    images = np.asarray(images, dtype=np.float64)
    _, in_h, in_w, _ = images.shape

    def coords(n_in, n_out):
        if n_out == 1:
            return np.zeros(1)
        return np.arange(n_out) * (n_in - 1) / (n_out - 1)

    out = np.zeros((images.shape[0], out_h, out_w, images.shape[3]))
    for i, y in enumerate(coords(in_h, out_h)):
        y0 = int(np.floor(y))
        y1 = min(y0 + 1, in_h - 1)
        wy = y - y0
        for j, x in enumerate(coords(in_w, out_w)):
            x0 = int(np.floor(x))
            x1 = min(x0 + 1, in_w - 1)
            wx = x - x0
            out[:, i, j] = (
                (1 - wy) * (1 - wx) * images[:, y0, x0]
                + (1 - wy) * wx * images[:, y0, x1]
                + wy * (1 - wx) * images[:, y1, x0]
                + wy * wx * images[:, y1, x1]
            )
    return out


def conv2d_same(x, kernel, bias, dilation=1):
    """Stride-1 'same' convolution of [B, H, W, Cin] by explicit summation."""
    kh, kw = kernel.shape[:2]
    ph, pw = dilation * (kh - 1) // 2, dilation * (kw - 1) // 2
    padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    h, w = x.shape[1:3]
    out = np.zeros(x.shape[:3] + (kernel.shape[3],))
    for a in range(kh):
        for b in range(kw):
            patch = padded[:, a * dilation:a * dilation + h,
                           b * dilation:b * dilation + w]
            out += patch @ kernel[a, b]
    return out + bias


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def merge_attention(score_maps, attention_logits):
    """Eq. (1)-(2): g_ic = sum_s w_i^s f_ic^s, w_i^s = softmax_s(h_i^s)."""
    w = softmax(np.asarray(attention_logits, np.float64), axis=-1)
    g = np.zeros(np.shape(score_maps[0]))
    for s, f in enumerate(score_maps):
        g += w[..., s:s + 1] * f
    return g


def caffe_output_size(n, stride=8):
    """ceil(n / stride): TF 'same' pooling, equal to Caffe for n = 8k + 1."""
    return -(-n // stride)
