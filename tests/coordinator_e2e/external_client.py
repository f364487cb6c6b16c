#!/usr/bin/python3
"""A client outside Hearth's own code: Debian's python3-grpcio with messages generated from
rpc/hearth/v1/*.proto by protoc. Checks the API contract against a running hearthd:
  external_client.py ADDRESS REPO_DIR WORK_DIR
Exits non-zero with a message on the first broken expectation."""
import os
import subprocess
import sys

address, repo, work = sys.argv[1:4]
subprocess.run(["protoc", f"--proto_path={repo}/rpc", f"--python_out={work}",
                "hearth/v1/job.proto", "hearth/v1/report.proto", "hearth/v1/coordinator.proto"],
               check=True)
sys.path.insert(0, work)
import grpc  # noqa: E402
from hearth.v1 import coordinator_pb2 as pb  # noqa: E402

channel = grpc.insecure_channel(address)


def call(method, request, response_type):
    stub = channel.unary_unary(f"/hearth.v1.Coordinator/{method}",
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_type.FromString)
    return stub(request, timeout=30)


def expect_error(code, fragment, method, request, response_type):
    try:
        call(method, request, response_type)
    except grpc.RpcError as e:
        if e.code() != code or fragment not in e.details():
            sys.exit(f"{method}: expected {code} mentioning {fragment!r}, got {e.code()}: "
                     f"{e.details()}")
        return
    sys.exit(f"{method}: expected {code}, but the call succeeded")


def spec(train_path, units=3):
    s = pb.SubmitJobRequest().spec
    s.name = "external"
    s.task = 2  # CLASSIFICATION
    s.data.train.path = train_path
    s.data.train.format = 1  # CSV: the escape tests use names without .csv
    s.data.train.label_column = "label"
    s.model.layers.add().dense.units = units
    s.global_batch_size = 8
    s.epochs = 1
    return s


# The standard health service answers SERVING (HealthCheckResponse.status = 1).
health = channel.unary_unary("/grpc.health.v1.Health/Check",
                             request_serializer=lambda b: b, response_deserializer=lambda b: b)
if health(b"", timeout=10) != b"\x08\x01":
    sys.exit("health check: not SERVING")

# Server reflection lists the services (ServerReflectionRequest.list_services = "", field 7).
reflection = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                   request_serializer=lambda b: b,
                                   response_deserializer=lambda b: b)
listed = b"".join(reflection(iter([b"\x3a\x00"]), timeout=10))
for service in (b"hearth.v1.Coordinator", b"hearth.v1.WorkerService", b"grpc.health.v1.Health"):
    if service not in listed:
        sys.exit(f"server reflection does not list {service.decode()}")

data = os.path.join(work, "data.csv")
with open(data, "w") as f:
    f.write("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(32)))

# A malformed spec: INVALID_ARGUMENT naming the field path.
request = pb.SubmitJobRequest()
request.spec.CopyFrom(spec(data, units=0))
expect_error(grpc.StatusCode.INVALID_ARGUMENT, "spec.model.layers[0].dense.units", "SubmitJob",
             request, pb.SubmitJobResponse)

# Paths that escape the data root: "../" and a symlink pointing out.
request.spec.CopyFrom(spec(os.path.join(work, "../../../../../../etc/passwd")))
expect_error(grpc.StatusCode.PERMISSION_DENIED, "outside the data roots",
             "SubmitJob", request, pb.SubmitJobResponse)
link = os.path.join(work, "escape.csv")
os.symlink("/etc/passwd", link)
request.spec.CopyFrom(spec(link))
expect_error(grpc.StatusCode.PERMISSION_DENIED, "outside", "SubmitJob", request,
             pb.SubmitJobResponse)

# Unknown ids are NOT_FOUND.
expect_error(grpc.StatusCode.NOT_FOUND, "j-999999", "GetJob", pb.GetJobRequest(id="j-999999"),
             pb.Job)

# A good job is accepted and listed.
request.spec.CopyFrom(spec(data, units=2))
job = call("SubmitJob", request, pb.SubmitJobResponse).job
jobs = call("ListJobs", pb.ListJobsRequest(), pb.ListJobsResponse).jobs
if job.id not in [j.id for j in jobs]:
    sys.exit(f"ListJobs does not show {job.id}")
print(f"external client: all checks passed ({job.id} submitted)")
