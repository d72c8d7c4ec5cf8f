"""mlkit's command-line tools: the local emulator run (`make local`) and the invoke client."""
