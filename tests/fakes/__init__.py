"""Local stand-ins for cloud services, speaking their real wire protocols on 127.0.0.1."""
