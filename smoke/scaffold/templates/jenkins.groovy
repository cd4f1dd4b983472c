// chat-smoke release gate: https://github.com/chat-smoke/chat-smoke/blob/main/docs/jenkins.md
// Needs the Docker Pipeline and Credentials Binding plugins, and a "Secret file"
// credential with the id cometapi-api-key-file (a file holding only the key).
pipeline {
    agent any

    options {
        timeout(time: 10, unit: 'MINUTES')
    }

    stages {
        stage('chat-smoke gate') {
            steps {
                script {
                    // Pin it by digest: ghcr.io/chat-smoke/chat-smoke@sha256:... from the release notes.
                    docker.image('ghcr.io/chat-smoke/chat-smoke:@@version').inside {
                        withCredentials([file(credentialsId: 'cometapi-api-key-file', variable: 'KEY_FILE')]) {
                            sh 'chat-smoke run --config chat-smoke.yml --api-key-file "$KEY_FILE" --report-junit chat-smoke-reports/junit.xml'
                        }
                    }
                }
            }
        }
    }

    post {
        always {
            junit testResults: 'chat-smoke-reports/junit.xml', allowEmptyResults: true
            archiveArtifacts artifacts: 'chat-smoke-reports/**', allowEmptyArchive: true
        }
    }
}
