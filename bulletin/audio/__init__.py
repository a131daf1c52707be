"""Stage 4a, audio: decoding clips, pauses, loudness and the MP3 encode (ffmpeg), and the timeline."""
