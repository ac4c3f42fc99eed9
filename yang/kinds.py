"""The kinds and labels the ``-s`` stage reads and writes, named once for the stage and its memory."""

from __future__ import annotations

NODE = ("infra.kuid.dev", "Node")
CONFIG = ("config.sdcio.dev", "Config")
RUNNING = ("config.sdcio.dev", "RunningConfig")
CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
LABEL_TARGET = "config.sdcio.dev/targetName"
LABEL_NAMESPACE = "config.sdcio.dev/targetNamespace"
LABEL_FINAL = "config.sdcio.dev/finalconfig"
