"""PyTorch reference of RiverValley's LLaMA-style transformer (Sources/Trainer/Model/Transformer.swift).

Built from the same config JSON (keys: vocabSize, contextLength, width, layers, heads, mlpHidden,
tiedEmbeddings, ropeTheta, normEpsilon) and loading the same safetensors tensor names unchanged:

    tok_embeddings.weight [V, C]
    layers.i.attention_norm.weight [C]
    layers.i.attention.{wq,wk,wv,wo}.weight [C, C]
    layers.i.ffn_norm.weight [C]
    layers.i.feed_forward.{w1,w3}.weight [F, C], layers.i.feed_forward.w2.weight [C, F]
    norm.weight [C]
    output.weight [V, C]          (absent when tiedEmbeddings: the output reuses tok_embeddings)

Forward: x = emb[tokens]; per layer h = x + wo(attn(rope(wq n), rope(wk n), wv n)), n = rmsnorm(x)·g1;
x = h + w2(silu(w1 m) * w3 m), m = rmsnorm(h)·g2; logits = output(rmsnorm(x)·g_f).
RMSNorm: x * rsqrt(mean(x^2) + eps) * g.  RoPE: Meta's interleaved convention, pairs (2i, 2i+1) of a
head rotate by t * theta^(-2i/D); tables computed in float64 and rounded once to float32 (as Swift).
Attention: causal softmax(q k^T / sqrt(D)) v.
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def load_config(path_or_dict):
    if isinstance(path_or_dict, dict):
        c = dict(path_or_dict)
    else:
        with open(path_or_dict) as f:
            c = json.load(f)
    c.setdefault("vocabSize", 256)
    c.setdefault("tiedEmbeddings", False)
    c.setdefault("ropeTheta", 10000.0)
    c.setdefault("normEpsilon", 1e-5)
    if "mlpHidden" not in c:
        c["mlpHidden"] = ((8 * c["width"] + 2) // 3 + 7) // 8 * 8
    return c


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(T, D, theta):
    i = torch.arange(D // 2, dtype=torch.float64)
    t = torch.arange(T, dtype=torch.float64)
    angle = torch.outer(t, theta ** (-2.0 * i / D))
    return torch.cos(angle).float(), torch.sin(angle).float()


def apply_rope(x, cos, sin):
    """x: [B, H, T, D]; rotates interleaved pairs (2i, 2i+1)."""
    T = x.shape[-2]
    a, b = x[..., 0::2], x[..., 1::2]
    c, s = cos[:T], sin[:T]
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        C = c["width"]
        self.heads = c["heads"]
        self.wq = nn.Linear(C, C, bias=False)
        self.wk = nn.Linear(C, C, bias=False)
        self.wv = nn.Linear(C, C, bias=False)
        self.wo = nn.Linear(C, C, bias=False)

    def forward(self, x, cos, sin, fused):
        B, T, C = x.shape
        H = self.heads
        D = C // H
        q = self.wq(x).view(B, T, H, D).transpose(1, 2)
        k = self.wk(x).view(B, T, H, D).transpose(1, 2)
        v = self.wv(x).view(B, T, H, D).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if fused:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-2, -1)) / math.sqrt(D)
            mask = torch.ones(T, T, dtype=torch.bool).tril()
            s = s.masked_fill(~mask, float("-inf"))
            y = torch.softmax(s, dim=-1) @ v
        return self.wo(y.transpose(1, 2).reshape(B, T, C))


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, Fh = c["width"], c["mlpHidden"]
        self.w1 = nn.Linear(C, Fh, bias=False)
        self.w3 = nn.Linear(C, Fh, bias=False)
        self.w2 = nn.Linear(Fh, C, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention_norm = RMSNorm(c["width"], c["normEpsilon"])
        self.attention = Attention(c)
        self.ffn_norm = RMSNorm(c["width"], c["normEpsilon"])
        self.feed_forward = FeedForward(c)

    def forward(self, x, cos, sin, fused):
        h = x + self.attention(self.attention_norm(x), cos, sin, fused)
        return h + self.feed_forward(self.ffn_norm(h))


class Llama(nn.Module):
    def __init__(self, config, fused_attention=False):
        super().__init__()
        c = load_config(config)
        self.config = c
        self.fused = fused_attention
        self.tok_embeddings = nn.Embedding(c["vocabSize"], c["width"])
        self.layers = nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["width"], c["normEpsilon"])
        self.tied = c["tiedEmbeddings"]
        if not self.tied:
            self.output = nn.Linear(c["width"], c["vocabSize"], bias=False)
        cos, sin = rope_tables(c["contextLength"], c["width"] // c["heads"], c["ropeTheta"])
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def forward(self, tokens, targets=None):
        x = self.tok_embeddings(tokens)
        for layer in self.layers:
            x = layer(x, self.rope_cos, self.rope_sin, self.fused)
        x = self.norm(x)
        logits = x @ self.tok_embeddings.weight.t() if self.tied else self.output(x)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    def parameter_groups(self, weight_decay):
        """As Transformer.parameterGroups: decay on matrices, none on norm gains."""
        decay = [p for p in self.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.parameters() if p.dim() < 2]
        return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def flops_per_token(config, T=None):
    """As Transformer.flopsPerToken: 6 * matmul params + 12 * L * C * T."""
    c = load_config(config)
    C, Fh, L, V = c["width"], c["mlpHidden"], c["layers"], c["vocabSize"]
    matmul = L * (4 * C * C + 3 * C * Fh) + V * C
    return 6 * matmul + 12 * L * C * (T or c["contextLength"])
