//! What the Cilium Helm chart gives the agent pod beside its main container, as
//! `kubectl describe` shows it on a real node: the init containers (config, cgroup and
//! bpffs mounts, sysctls, state cleanup, CNI install — all `Completed`), the agent's
//! volume mounts and the pod's volumes (host paths, the config map, the service
//! account's projected token).

use k8s_openapi::api::core::v1::{
    ConfigMapProjection, ConfigMapVolumeSource, Container, ContainerState,
    ContainerStateTerminated, ContainerStatus, DownwardAPIProjection, DownwardAPIVolumeFile,
    EmptyDirVolumeSource, EnvVar, HostPathVolumeSource, KeyToPath, ObjectFieldSelector,
    ProjectedVolumeSource, ServiceAccountTokenProjection, Volume, VolumeMount, VolumeProjection,
};

use super::Source;

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn host(name: &str, path: &str, kind: &str) -> Volume {
    Volume {
        name: name.into(),
        host_path: Some(HostPathVolumeSource {
            path: path.into(),
            type_: (!kind.is_empty()).then(|| kind.into()),
        }),
        ..Volume::default()
    }
}

/// The projected service-account volume admission adds (`kube-api-access-xxxxx`).
pub(super) fn api_access_name(src: &Source<'_>) -> String {
    let uid = src.identity.uid("kube-api-access/cilium");
    format!("kube-api-access-{}", &uid[..5])
}

/// The agent container's mounts.
pub(super) fn agent_mounts(src: &Source<'_>) -> Vec<VolumeMount> {
    let mut bpf = mount("bpf-maps", "/sys/fs/bpf", false);
    bpf.mount_propagation = Some("HostToContainer".into());
    vec![
        mount("host-proc-sys-net", "/host/proc/sys/net", false),
        mount("host-proc-sys-kernel", "/host/proc/sys/kernel", false),
        bpf,
        mount("cilium-run", "/var/run/cilium", false),
        mount("etc-cni-netd", "/host/etc/cni/net.d", false),
        mount("clustermesh-secrets", "/var/lib/cilium/clustermesh", true),
        mount("lib-modules", "/lib/modules", true),
        mount("xtables-lock", "/run/xtables.lock", false),
        mount("tmp", "/tmp", false),
        mount(
            &api_access_name(src),
            "/var/run/secrets/kubernetes.io/serviceaccount",
            true,
        ),
    ]
}

fn init(image: &str, name: &str, command: &[&str], mounts: Vec<VolumeMount>) -> Container {
    Container {
        name: name.into(),
        image: Some(image.into()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(command.iter().map(ToString::to_string).collect()),
        volume_mounts: Some(mounts),
        termination_message_path: Some("/dev/termination-log".into()),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Container::default()
    }
}

/// The chart's init containers, in order.
pub(super) fn init_containers(src: &Source<'_>) -> Vec<Container> {
    let api = || {
        mount(
            &api_access_name(src),
            "/var/run/secrets/kubernetes.io/serviceaccount",
            true,
        )
    };
    let image = src.identity.cilium_image();
    let mut config = init(
        image,
        "config",
        &["cilium-dbg", "build-config"],
        vec![mount("tmp", "/tmp", false), api()],
    );
    config.env = Some(vec![
        EnvVar {
            name: "K8S_NODE_NAME".into(),
            value_from: Some(k8s_openapi::api::core::v1::EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: Some("v1".into()),
                    field_path: "spec.nodeName".into(),
                }),
                ..Default::default()
            }),
            value: None,
        },
        EnvVar {
            name: "KUBERNETES_SERVICE_HOST".into(),
            value: Some("127.0.0.1".into()),
            value_from: None,
        },
        EnvVar {
            name: "KUBERNETES_SERVICE_PORT".into(),
            value: Some(src.port.to_string()),
            value_from: None,
        },
    ]);
    vec![
        config,
        init(
            image,
            "mount-cgroup",
            &[
                "sh",
                "-ec",
                "cp /usr/bin/cilium-mount /hostbin/cilium-mount; nsenter --cgroup=/hostproc/1/ns/cgroup --mount=/hostproc/1/ns/mnt \"${BIN_PATH}/cilium-mount\" $CGROUP_ROOT; rm /hostbin/cilium-mount",
            ],
            vec![
                mount("hostproc", "/hostproc", false),
                mount("cni-path", "/hostbin", false),
                api(),
            ],
        ),
        init(
            image,
            "apply-sysctl-overwrites",
            &[
                "sh",
                "-ec",
                "cp /usr/bin/cilium-sysctlfix /hostbin/cilium-sysctlfix; nsenter --mount=/hostproc/1/ns/mnt \"${BIN_PATH}/cilium-sysctlfix\"; rm /hostbin/cilium-sysctlfix",
            ],
            vec![
                mount("hostproc", "/hostproc", false),
                mount("cni-path", "/hostbin", false),
                api(),
            ],
        ),
        Container {
            args: Some(vec![
                "mount | grep \"/sys/fs/bpf type bpf\" || mount -t bpf bpf /sys/fs/bpf".into(),
            ]),
            ..init(
                image,
                "mount-bpf-fs",
                &["/bin/bash", "-c", "--"],
                vec![
                    {
                        let mut m = mount("bpf-maps", "/sys/fs/bpf", false);
                        m.mount_propagation = Some("Bidirectional".into());
                        m
                    },
                    api(),
                ],
            )
        },
        init(
            image,
            "clean-cilium-state",
            &["/init-container.sh"],
            vec![
                mount("bpf-maps", "/sys/fs/bpf", false),
                mount("cilium-cgroup", "/run/cilium/cgroupv2", false),
                mount("cilium-run", "/var/run/cilium", false),
                api(),
            ],
        ),
        init(
            image,
            "install-cni-binaries",
            &["/install-plugin.sh"],
            vec![mount("cni-path", "/host/opt/cni/bin", false), api()],
        ),
    ]
}

/// Each init container ran to completion when the pod started.
pub(super) fn init_statuses(src: &Source<'_>, pod_name: &str) -> Vec<ContainerStatus> {
    init_containers(src)
        .into_iter()
        .map(|c| {
            let key = format!("pod/kube-system/{pod_name}/init/{}", c.name);
            let image = src.identity.cilium_image();
            ContainerStatus {
                name: c.name,
                ready: true,
                started: Some(false),
                restart_count: 0,
                image: image.into(),
                image_id: format!("{image}@sha256:{}", &src.identity.container_id(image)[13..]),
                container_id: Some(src.identity.container_id(&key)),
                state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        container_id: Some(src.identity.container_id(&key)),
                        exit_code: 0,
                        reason: Some("Completed".into()),
                        started_at: Some(src.created()),
                        finished_at: Some(src.created()),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }
        })
        .collect()
}

/// The pod's volumes.
pub(super) fn volumes(src: &Source<'_>) -> Vec<Volume> {
    let empty = |name: &str| Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    };
    let projected = Volume {
        name: api_access_name(src),
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(0o644),
            sources: Some(vec![
                VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        expiration_seconds: Some(3607),
                        path: "token".into(),
                        audience: None,
                    }),
                    ..VolumeProjection::default()
                },
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: "kube-root-ca.crt".into(),
                        items: Some(vec![KeyToPath {
                            key: "ca.crt".into(),
                            path: "ca.crt".into(),
                            mode: None,
                        }]),
                        optional: None,
                    }),
                    ..VolumeProjection::default()
                },
                VolumeProjection {
                    downward_api: Some(DownwardAPIProjection {
                        items: Some(vec![DownwardAPIVolumeFile {
                            path: "namespace".into(),
                            field_ref: Some(ObjectFieldSelector {
                                api_version: Some("v1".into()),
                                field_path: "metadata.namespace".into(),
                            }),
                            ..DownwardAPIVolumeFile::default()
                        }]),
                    }),
                    ..VolumeProjection::default()
                },
            ]),
        }),
        ..Volume::default()
    };
    vec![
        empty("tmp"),
        host("cilium-run", "/var/run/cilium", "DirectoryOrCreate"),
        host("bpf-maps", "/sys/fs/bpf", "DirectoryOrCreate"),
        host("hostproc", "/proc", "Directory"),
        host("cilium-cgroup", "/run/cilium/cgroupv2", "DirectoryOrCreate"),
        host("cni-path", "/opt/cni/bin", "DirectoryOrCreate"),
        host("etc-cni-netd", "/etc/cni/net.d", "DirectoryOrCreate"),
        host("lib-modules", "/lib/modules", ""),
        host("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
        Volume {
            name: "cilium-config-path".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: "cilium-config".into(),
                default_mode: Some(0o644),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        empty("clustermesh-secrets"),
        host("host-proc-sys-net", "/proc/sys/net", "Directory"),
        host("host-proc-sys-kernel", "/proc/sys/kernel", "Directory"),
        projected,
    ]
}
