"""Taught words: a word the user gave to a few photos becomes a model over the vectors the catalog
already stores, and tags the rest of the library (source "learned").

features  the numbers each photo is learned over (its vectors, normalised and reduced), cached per
          vectors generation
model     one word's model: a shrinkage LDA direction, the word's own text similarity and the tagger's
          class of the same name, combined; calibrated (Platt scaling of the cross-validated margin)
words     the taught words of one catalog: train from the user's tag feedback, write the learned tags,
          list, forget
"""
