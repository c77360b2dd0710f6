"""The LoRA trainer (DESIGN.md §6; docs/training.md).

``datasets`` checks the data with the shared ``vivid_desktop.datasets`` (the three layouts, read and
checked exactly as the trainer tab does); ``units``, ``augment`` and ``deletion`` make the paper's
samples; ``cache`` encodes them once; ``model`` loads the model and attaches LoRA; ``sampler``,
``objective`` and ``loop`` train; ``checkpoints`` and ``lora_io`` persist; ``validation`` renders;
``job`` is the runtime's ``train`` job and ``__main__`` the process that ``vivid train`` and
``accelerate launch`` start. Importing this package imports nothing heavy.
"""
