"""The Arm architecture: memory types, MAIR and stage-2 encodings, descriptors, S1+S2 combination."""
