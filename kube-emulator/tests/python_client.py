"""The official Python client against the emulator: its models deserialise
what the emulator answers (a pod's status from its first event, a
Deployment's defaulted strategy, Secrets, paged lists, events).

Usage: python_client.py KUBECONFIG NAMESPACE; prints "ok" when every check
holds, raises otherwise."""

import sys

from kubernetes import client, config, watch


def main(kubeconfig: str, ns: str) -> None:
    config.load_kube_config(kubeconfig)
    core = client.CoreV1Api()
    apps = client.AppsV1Api()
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))

    deployment = apps.create_namespaced_deployment(ns, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    assert deployment.spec.strategy.type == "RollingUpdate", deployment.spec.strategy
    assert deployment.spec.strategy.rolling_update.max_surge == "25%"
    assert deployment.spec.template.spec.restart_policy == "Always"

    # Every pod event deserialises, with a status from the first one.
    running = set()
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_pod, ns, timeout_seconds=30):
        pod = event["object"]
        assert isinstance(pod, client.V1Pod), type(pod)
        assert pod.status is not None and pod.status.phase, (event["type"], pod.status)
        assert pod.status.qos_class == "BestEffort", pod.status.qos_class
        if pod.status.phase == "Running" and all(c.ready for c in pod.status.container_statuses or []):
            running.add(pod.metadata.name)
        if len(running) == 2:
            stream.stop()
    assert len(running) == 2, running

    events = core.list_namespaced_event(ns, field_selector="reason=Scheduled")
    assert len(events.items) == 2, [e.message for e in events.items]
    assert all(e.involved_object.kind == "Pod" for e in events.items)

    secret = core.create_namespaced_secret(ns, client.V1Secret(
        metadata=client.V1ObjectMeta(name="s"), string_data={"a": "b"}))
    assert secret.data == {"a": "Yg=="} and secret.type == "Opaque", secret

    service = core.create_namespaced_service(ns, client.V1Service(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1ServiceSpec(selector={"app": "web"}, ports=[client.V1ServicePort(port=80)])))
    assert service.spec.cluster_ip and service.spec.type == "ClusterIP", service.spec

    page = core.list_namespaced_pod(ns, limit=1)
    assert len(page.items) == 1 and page.metadata._continue, page.metadata
    rest = core.list_namespaced_pod(ns, limit=1, _continue=page.metadata._continue)
    assert len(rest.items) == 1 and not rest.metadata._continue, rest.metadata
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
