{
  "targets": [
    {
      "target_name": "holdfast_native",
      "sources": ["malloc_tuning.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
