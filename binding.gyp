{
  "targets": [
    {
      "target_name": "hijack_sockopt",
      "sources": [
        "native/sockopt.c"
      ],
      "defines": [
        "NAPI_VERSION=8"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2"
      ],
      "xcode_settings": {
        "OTHER_CFLAGS": [
          "-Wall",
          "-Wextra"
        ]
      }
    },
    {
      "target_name": "hijack_relay",
      "sources": [
        "native/relay.c"
      ],
      "defines": [
        "NAPI_VERSION=8"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2"
      ],
      "xcode_settings": {
        "OTHER_CFLAGS": [
          "-Wall",
          "-Wextra"
        ]
      }
    }
  ]
}
