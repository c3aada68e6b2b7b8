#!/usr/bin/env python3
# The official HistoGAN utils/color_transfer_MKL.py (same statements, some lines joined), run on the same files as
# `histogan-gpu transfer`; prints how far our 8-bit output is from the official result rounded to 8 bits.
import sys, numpy as np
from PIL import Image
EPS = 2.2204e-16
def color_transfer_MKL(source, target):
  X0 = np.reshape(source, (-1, 3), 'F'); X1 = np.reshape(target, (-1, 3), 'F')
  A = np.cov(X0, rowvar=False); B = np.cov(X1, rowvar=False)
  T = MKL(A, B)
  mX0 = np.mean(X0, axis=0); mX1 = np.mean(X1, axis=0)
  XR = (X0 - mX0) @ T + mX1
  IR = np.reshape(XR, source.shape, 'F'); IR = np.real(IR)
  IR[IR > 1] = 1; IR[IR < 0] = 0
  return IR
def MKL(A, B):
  Da2, Ua = np.linalg.eig(A)
  Da2 = np.diag(Da2); Da2[Da2 < 0] = 0
  Da = np.sqrt(Da2 + EPS)
  C = Da @ np.transpose(Ua) @ B @ Ua @ Da
  Dc2, Uc = np.linalg.eig(C)
  Dc2 = np.diag(Dc2); Dc2[Dc2 < 0] = 0
  Dc = np.sqrt(Dc2 + EPS)
  Da_inv = np.diag(1 / (np.diag(Da)))
  return Ua @ Da_inv @ Uc @ Dc @ np.transpose(Uc) @ Da_inv @ np.transpose(Ua)
# Usage: python3 docs/mkl_reference.py INPUT TARGET OURS.png  (compares our `transfer` output with the official code)
inp, tgt, ours = sys.argv[1:4]
s = np.asarray(Image.open(inp).convert("RGB"), dtype=np.float64) / 255
t = np.asarray(Image.open(tgt).convert("RGB"), dtype=np.float64) / 255
ref = np.round(color_transfer_MKL(s, t) * 255)
got = np.asarray(Image.open(ours).convert("RGB"), dtype=np.float64)
d = np.abs(ref - got)
print(f"{ours}: max |ours - official| = {d.max():.0f}/255, differing 8-bit values {np.mean(d > 0) * 100:.3f}%")
