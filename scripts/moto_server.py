"""moto's server, with DynamoDB requests serialized.

moto's stock server handles requests on threads without a lock around its DynamoDB backend, so two
concurrent TransactWriteItems can both pass their conditions. Real DynamoDB never allows that, and the
attempt ledger's guarantee rests on it. This wrapper runs moto's own WSGI app behind a lock for
DynamoDB calls only (SQS long polls stay concurrent). Usage: moto_server.py -H 127.0.0.1 -p PORT
"""
import argparse
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app


class SerializedDynamoDb:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self.lock:
                # Consume the whole response inside the lock: the work happens while it is produced.
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, SerializedDynamoDb(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
